//! Process-wide counters, exposed at `/metrics` in the Prometheus text format. Each process
//! counts what it served; a scraper adds the processes up.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// A counter's name, help text and label names.
struct Family {
    help: &'static str,
    values: BTreeMap<Vec<String>, u64>,
    labels: &'static [&'static str],
}

/// The counters of one process.
#[derive(Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

impl Metrics {
    fn add(&self, name: &'static str, help: &'static str, labels: &'static [&'static str], values: &[&str], n: u64) {
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let family = families.entry(name).or_insert_with(|| Family { help, values: BTreeMap::new(), labels });
        *family.values.entry(values.iter().map(|v| v.to_string()).collect()).or_default() += n;
    }

    /// A Web Connector call was answered (`error`: with a fault or an error answer).
    pub fn qbwc_call(&self, method: &str, error: bool) {
        self.add("qbsync_qbwc_calls_total", "Web Connector calls answered, by method", &["method"], &[method], 1);
        if error {
            self.add(
                "qbsync_qbwc_errors_total",
                "Web Connector calls answered with a fault or an error, by method",
                &["method"],
                &[method],
                1,
            );
        }
    }

    pub fn run_started(&self) {
        self.add("qbsync_runs_started_total", "Web Connector runs started", &[], &[], 1);
    }

    pub fn run_ended(&self, outcome: &str) {
        self.add("qbsync_runs_ended_total", "Web Connector runs ended, by outcome", &["outcome"], &[outcome], 1);
    }

    pub fn rows_staged(&self, list: &str, n: u64) {
        self.add("qbsync_staged_rows_total", "QuickBooks records staged, by list", &["list"], &[list], n);
    }

    /// A sign-in was refused (`why`: wrong, locked, busy).
    pub fn sign_in_failed(&self, realm: &str, why: &str) {
        self.add(
            "qbsync_sign_in_failures_total",
            "Sign-ins refused, by realm and reason (wrong password or account, locked out, busy)",
            &["realm", "reason"],
            &[realm, why],
            1,
        );
    }

    /// An account or a client address was locked out.
    pub fn sign_in_locked(&self, realm: &str, what: &str) {
        self.add(
            "qbsync_sign_in_lockouts_total",
            "Sign-in lockouts started, by realm and kind",
            &["realm", "kind"],
            &[realm, what],
            1,
        );
    }

    /// The Prometheus text exposition of every counter, followed by `extra` gauge lines.
    pub fn render(&self, gauges: &[(&str, &str, i64)]) -> String {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, family) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} counter", family.help);
            for (values, count) in &family.values {
                let labels: Vec<String> = family
                    .labels
                    .iter()
                    .zip(values)
                    .map(|(label, value)| {
                        format!("{label}=\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
                    })
                    .collect();
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {count}");
                } else {
                    let _ = writeln!(out, "{name}{{{}}} {count}", labels.join(","));
                }
            }
        }
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.qbwc_call("authenticate", false);
        metrics.qbwc_call("authenticate", false);
        metrics.qbwc_call("receiveResponseXML", true);
        metrics.rows_staged("customers", 500);
        metrics.run_ended("success");
        let text = metrics.render(&[("qbsync_runs_live", "Runs in progress", 1)]);
        assert!(text.contains("# TYPE qbsync_qbwc_calls_total counter\n"));
        assert!(text.contains("qbsync_qbwc_calls_total{method=\"authenticate\"} 2\n"));
        assert!(text.contains("qbsync_qbwc_errors_total{method=\"receiveResponseXML\"} 1\n"));
        assert!(text.contains("qbsync_staged_rows_total{list=\"customers\"} 500\n"));
        assert!(text.contains("qbsync_runs_ended_total{outcome=\"success\"} 1\n"));
        assert!(text.contains("# TYPE qbsync_runs_live gauge\nqbsync_runs_live 1\n"));
    }
}
