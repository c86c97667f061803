//! Suggestions: which unlinked location (or staff member) and which unlinked QuickBooks customer
//! (or employee) are likely the same place (or person). Pure: prepared records in, scored pairs
//! out; `store::suggestions` feeds it and the API serves it.
//!
//! Text is compared after [`words`]: accents and case folded, punctuation dropped, street types,
//! units and directions abbreviated (`Avenue` → `ave`, `Suite` → `ste`), and, for names, words
//! sorted (word order does not count) with a few legal and filler words left out. A name is
//! compared word by word (Jaro-Winkler per word, from `strsim`) and as a whole (normalized
//! Levenshtein); the street address (house number and street), phones (last ten digits) and
//! e-mail addresses are compared exactly after normalizing.
//!
//! **Blocking.** Nothing compares every pair: an [`Index`] over one side maps block keys (each
//! name word, each pair of name words, the street address, each phone, each e-mail) to the
//! records that have them, and a record is scored only against the records it shares a key with.
//! A key shared by more than [`MAX_BLOCK`] records (a word like "cleaning") is not used for
//! finding candidates, since it tells too little; the word pairs and the exact keys still do. Of
//! the records found, only the [`MAX_SCORED`] sharing the most (weighted: a word 1, a word pair
//! 2, an exact key 4) are scored, so the work per record is bounded whatever the data.

pub mod sample;
pub mod search;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The score from which a pair is suggested (by default) in the list of pairs.
pub const DEFAULT_THRESHOLD: f64 = 0.75;
/// A key with more records than this finds no candidates.
pub const MAX_BLOCK: usize = 100;
/// Most candidates of one record that are scored (those sharing the most block keys).
pub const MAX_SCORED: usize = 30;
/// Two candidates of one record whose scores are this close are a tie: neither is sure.
const TIE_MARGIN: f64 = 0.02;
/// What a tie costs a pair: an identical name alone (0.9) drops below the threshold.
const TIE_FACTOR: f64 = 0.8;
/// How much of the remaining doubt each exact match closes (street address, phone, e-mail).
const STREET_WEIGHT: f64 = 0.6;
const PHONE_WEIGHT: f64 = 0.5;
const EMAIL_WEIGHT: f64 = 0.6;
/// What two different street addresses cost a pair.
const STREET_CONFLICT_FACTOR: f64 = 0.85;

/// Street types, units and directions, spelled out or not, and their one abbreviation.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("street", "st"),
    ("str", "st"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("road", "rd"),
    ("boulevard", "blvd"),
    ("drive", "dr"),
    ("lane", "ln"),
    ("court", "ct"),
    ("place", "pl"),
    ("square", "sq"),
    ("terrace", "ter"),
    ("highway", "hwy"),
    ("parkway", "pkwy"),
    ("circle", "cir"),
    ("way", "wy"),
    ("suite", "ste"),
    ("apartment", "apt"),
    ("building", "bldg"),
    ("floor", "fl"),
    ("room", "rm"),
    ("north", "n"),
    ("south", "s"),
    ("east", "e"),
    ("west", "w"),
    ("saint", "st"),
    ("mount", "mt"),
    ("fort", "ft"),
    ("first", "1st"),
    ("second", "2nd"),
    ("third", "3rd"),
];

/// Words a name can leave out without being another name.
const NAME_FILLERS: &[&str] = &["the", "and", "of", "inc", "llc", "ltd", "co", "corp", "company", "incorporated"];

/// Case- and accent-folded words of `text`, abbreviations applied: `"Château Élan, 12 Airport
/// Road"` → `["chateau", "elan", "12", "airport", "rd"]`.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded
        .split_whitespace()
        .map(|word| match ABBREVIATIONS.iter().find(|(long, _)| *long == word) {
            Some((_, short)) => (*short).to_string(),
            None => word.to_string(),
        })
        .collect()
}

/// The digits of a phone number that identify it: the last ten (a US number without its country
/// code), or all of them from seven on; None for fewer than seven.
pub fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0..7 => None,
        7..=10 => Some(digits),
        n => Some(digits[n - 10..].to_string()),
    }
}

/// What a record offers for comparison, as it is stored.
#[derive(Clone, Debug, Default)]
pub struct Fields<'a> {
    /// Names it goes by: its own, and e.g. a job's full name or a company name.
    pub names: Vec<&'a str>,
    /// Address lines; the first that starts with a house number is the street address.
    pub address_lines: Vec<&'a str>,
    pub phones: Vec<&'a str>,
    pub emails: Vec<&'a str>,
}

/// One way of naming a record, normalized: its words sorted, and joined by spaces.
#[derive(Clone, Debug)]
struct Name {
    words: Vec<String>,
    joined: String,
}

impl Name {
    fn of(text: &str) -> Option<Name> {
        let all = words(text);
        let mut kept: Vec<String> = all.iter().filter(|w| !NAME_FILLERS.contains(&w.as_str())).cloned().collect();
        if kept.is_empty() {
            kept = all;
        }
        if kept.is_empty() {
            return None;
        }
        kept.sort();
        kept.dedup();
        let joined = kept.join(" ");
        Some(Name { words: kept, joined })
    }
}

/// A record prepared for matching.
#[derive(Clone, Debug)]
pub struct Profile {
    names: Vec<Name>,
    /// House number and street words, e.g. `"12 airport rd"`.
    street: Option<String>,
    phones: Vec<String>,
    emails: Vec<String>,
    /// Block keys (hashed) and their weights.
    keys: Vec<(u64, u32)>,
}

impl Profile {
    pub fn new(fields: &Fields) -> Profile {
        let mut names: Vec<Name> = Vec::new();
        for name in fields.names.iter().filter_map(|n| Name::of(n)) {
            if !names.iter().any(|known| known.joined == name.joined) {
                names.push(name);
            }
        }
        let street = fields.address_lines.iter().map(|line| words(line)).find_map(|line| {
            let starts_with_number = line.first().is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()));
            (starts_with_number && line.len() >= 2).then(|| line.join(" "))
        });
        let mut phones: Vec<String> = fields.phones.iter().filter_map(|p| phone_key(p)).collect();
        phones.sort();
        phones.dedup();
        let mut emails: Vec<String> =
            fields.emails.iter().map(|e| e.trim().to_lowercase()).filter(|e| e.contains('@')).collect();
        emails.sort();
        emails.dedup();
        let mut profile = Profile { names, street, phones, emails, keys: Vec::new() };
        profile.keys = profile.block_keys();
        profile
    }

    /// The block keys of the record, hashed, with their weights (see the module's notes).
    fn block_keys(&self) -> Vec<(u64, u32)> {
        let hash = |kind: u8, parts: &[&str]| {
            let mut hasher = DefaultHasher::new();
            kind.hash(&mut hasher);
            parts.hash(&mut hasher);
            hasher.finish()
        };
        let mut keys = Vec::new();
        for name in &self.names {
            for word in &name.words {
                keys.push((hash(b'w', &[word]), 1));
            }
            let firsts = &name.words[..name.words.len().min(5)];
            for (i, a) in firsts.iter().enumerate() {
                for b in &firsts[i + 1..] {
                    keys.push((hash(b'b', &[a, b]), 2));
                }
            }
        }
        keys.extend(self.street.iter().map(|s| (hash(b's', &[s]), 4)));
        keys.extend(self.phones.iter().map(|p| (hash(b'p', &[p]), 4)));
        keys.extend(self.emails.iter().map(|e| (hash(b'e', &[e]), 4)));
        keys.sort();
        keys.dedup_by_key(|(key, _)| *key);
        keys
    }
}

/// A staged customer's profile: its name, its full name (a job's parent words count), its
/// company (a top-level customer's only: a job shares its parent's), ship-to then billing
/// address lines, phones and e-mail.
pub fn customer_profile(c: &crate::record::Customer) -> Profile {
    let d = &c.details;
    let full = c.full_name.replace(':', " ");
    let mut names = vec![c.name.as_str(), full.as_str()];
    if c.parent_list_id.is_none() {
        names.extend(d.company_name.as_deref());
    }
    let address_lines: Vec<&str> = [&d.ship_address, &d.bill_address]
        .into_iter()
        .flat_map(|a| [&a.line1, &a.line2, &a.line3, &a.line4, &a.line5])
        .filter_map(|l| l.as_deref())
        .collect();
    Profile::new(&Fields {
        names,
        address_lines,
        phones: [&d.phone, &d.alt_phone].into_iter().filter_map(|p| p.as_deref()).collect(),
        emails: d.email.as_deref().into_iter().collect(),
    })
}

/// A staged employee's profile: its name and first and last names, address, phones, e-mail.
pub fn employee_profile(e: &crate::record::Employee) -> Profile {
    let d = &e.details;
    let first_last = format!("{} {}", d.first_name.as_deref().unwrap_or(""), d.last_name.as_deref().unwrap_or(""));
    let a = &d.address;
    Profile::new(&Fields {
        names: vec![e.name.as_str(), first_last.as_str()],
        address_lines: [&a.line1, &a.line2, &a.line3].into_iter().filter_map(|l| l.as_deref()).collect(),
        phones: [&d.phone, &d.mobile, &d.alt_phone].into_iter().filter_map(|p| p.as_deref()).collect(),
        emails: d.email.as_deref().into_iter().collect(),
    })
}

/// How alike two names are, from 0 to 1: the best of the whole (normalized Levenshtein of the
/// sorted words), the share of words that match (Dice, a word matching another at Jaro-Winkler
/// 0.88 or more), and, when the shorter name has two words or more, the mean of that share and
/// how much of the shorter name the longer one contains ("Aspen Library" in "Aspen Public
/// Library").
fn name_similarity(a: &Name, b: &Name) -> f64 {
    if a.joined == b.joined {
        return 1.0;
    }
    let whole = strsim::normalized_levenshtein(&a.joined, &b.joined);
    let (short, long) = if a.words.len() <= b.words.len() { (a, b) } else { (b, a) };
    let mut used = vec![false; long.words.len()];
    let mut matched = 0.0;
    for word in &short.words {
        let mut best = (0.0, usize::MAX);
        for (j, other) in long.words.iter().enumerate() {
            if used[j] {
                continue;
            }
            let alike = if word == other { 1.0 } else { strsim::jaro_winkler(word, other) };
            if alike > best.0 {
                best = (alike, j);
            }
        }
        if best.0 >= 0.88 {
            matched += best.0;
            used[best.1] = true;
        }
    }
    let dice = 2.0 * matched / (short.words.len() + long.words.len()) as f64;
    let mut score = whole.max(dice);
    if short.words.len() >= 2 {
        let contained = matched / short.words.len() as f64;
        score = score.max((dice + contained) / 2.0);
    }
    score
}

/// Why two records look alike, and how much.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// From 0 to 1.
    pub value: f64,
    /// How alike the names are, from 0 to 1.
    pub name: f64,
    pub same_street: bool,
    pub street_differs: bool,
    pub same_phone: bool,
    pub same_email: bool,
    /// Another record looks about as alike (set by [`suggest`]).
    pub tie: bool,
}

impl Score {
    /// The reasons in words, strongest first: "same street address", "name 92% alike".
    pub fn reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.same_street {
            reasons.push("same street address".to_string());
        }
        if self.same_phone {
            reasons.push("same phone".to_string());
        }
        if self.same_email {
            reasons.push("same email".to_string());
        }
        if self.name >= 0.9995 {
            reasons.push("same name".to_string());
        } else if self.name >= 0.5 {
            reasons.push(format!("name {}% alike", (self.name * 100.0).round()));
        }
        if self.street_differs {
            reasons.push("different street address".to_string());
        }
        if self.tie {
            reasons.push("another record looks as alike".to_string());
        }
        reasons
    }
}

/// Scores one pair (symmetric).
pub fn score(a: &Profile, b: &Profile) -> Score {
    let mut name: f64 = 0.0;
    for x in &a.names {
        for y in &b.names {
            name = name.max(name_similarity(x, y));
        }
    }
    let (same_street, street_differs) = match (&a.street, &b.street) {
        (Some(x), Some(y)) => (x == y, x != y),
        _ => (false, false),
    };
    let same_phone = a.phones.iter().any(|p| b.phones.contains(p));
    let same_email = a.emails.iter().any(|e| b.emails.contains(e));
    let mut value = 0.9 * name;
    for (found, weight) in [(same_street, STREET_WEIGHT), (same_phone, PHONE_WEIGHT), (same_email, EMAIL_WEIGHT)] {
        if found {
            value = 1.0 - (1.0 - value) * (1.0 - weight);
        }
    }
    if street_differs {
        value *= STREET_CONFLICT_FACTOR;
    }
    Score { value, name, same_street, street_differs, same_phone, same_email, tie: false }
}

/// Block keys of one side's records, to find the candidates of a record of the other side.
pub struct Index<'p> {
    profiles: &'p [Profile],
    blocks: HashMap<u64, Vec<u32>>,
}

/// Scratch space for finding candidates: per indexed record, the stamp of the last search that
/// touched it and the weight of the keys it shares with that search's record.
struct Scratch {
    stamp: Vec<u32>,
    shared: Vec<u32>,
    touched: Vec<u32>,
}

impl Scratch {
    fn new(n: usize) -> Scratch {
        Scratch { stamp: vec![0; n], shared: vec![0; n], touched: Vec::new() }
    }
}

impl<'p> Index<'p> {
    pub fn new(profiles: &'p [Profile]) -> Index<'p> {
        let mut blocks: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, profile) in profiles.iter().enumerate() {
            for (key, _) in &profile.keys {
                blocks.entry(*key).or_default().push(i as u32);
            }
        }
        Index { profiles, blocks }
    }

    /// The [`MAX_SCORED`] records sharing the most usable block keys with `profile`, scored, with
    /// a score of at least `min`. `stamp` must differ from every earlier call's on `scratch`.
    fn scored(&self, profile: &Profile, min: f64, stamp: u32, scratch: &mut Scratch) -> Vec<(usize, Score)> {
        scratch.touched.clear();
        for (key, weight) in &profile.keys {
            let Some(block) = self.blocks.get(key) else { continue };
            if block.len() > MAX_BLOCK {
                continue;
            }
            for &j in block {
                let slot = j as usize;
                if scratch.stamp[slot] != stamp {
                    scratch.stamp[slot] = stamp;
                    scratch.shared[slot] = 0;
                    scratch.touched.push(j);
                }
                scratch.shared[slot] += weight;
            }
        }
        let shared = &scratch.shared;
        let touched = &mut scratch.touched;
        if touched.len() > MAX_SCORED {
            touched.select_nth_unstable_by(MAX_SCORED - 1, |a, b| {
                shared[*b as usize].cmp(&shared[*a as usize]).then(a.cmp(b))
            });
            touched.truncate(MAX_SCORED);
        }
        touched
            .iter()
            .map(|&j| (j as usize, score(profile, &self.profiles[j as usize])))
            .filter(|(_, s)| s.value >= min)
            .collect()
    }

    /// The best `limit` candidates of one record, best first, scoring at least `min`.
    pub fn candidates(&self, profile: &Profile, min: f64, limit: usize) -> Vec<(usize, Score)> {
        let mut scratch = Scratch::new(self.profiles.len());
        let mut found = self.scored(profile, min, 1, &mut scratch);
        found.sort_by(|a, b| b.1.value.total_cmp(&a.1.value).then(a.0.cmp(&b.0)));
        found.truncate(limit);
        found
    }
}

/// A suggested pair: positions in the two slices given to [`suggest`].
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub left: usize,
    pub right: usize,
    pub score: Score,
}

/// The likely pairs between two sides, best first, each record in one pair at most, scoring at
/// least `threshold`. A pair with a close runner-up on either side (two customers named alike,
/// nothing else to tell them apart) is a tie and scores less (see `TIE_FACTOR`).
pub fn suggest(left: &[Profile], right: &[Profile], threshold: f64) -> Vec<Suggestion> {
    let index = Index::new(right);
    // Candidates down to a little below the threshold, so that a runner-up just under it still
    // makes a tie.
    let floor = (threshold - 0.2).max(0.0);
    let mut scratch = Scratch::new(right.len());
    let mut all: Vec<Suggestion> = Vec::new();
    for (i, profile) in left.iter().enumerate() {
        for (j, score) in index.scored(profile, floor, i as u32 + 1, &mut scratch) {
            all.push(Suggestion { left: i, right: j, score });
        }
    }
    // The two best scores of each record of each side.
    let mut best_left = vec![[f64::MIN; 2]; left.len()];
    let mut best_right = vec![[f64::MIN; 2]; right.len()];
    for s in &all {
        for top in [&mut best_left[s.left], &mut best_right[s.right]] {
            let v = s.score.value;
            if v > top[0] {
                top[1] = top[0];
                top[0] = v;
            } else if v > top[1] {
                top[1] = v;
            }
        }
    }
    for s in &mut all {
        let v = s.score.value;
        let runner_up = |top: &[f64; 2]| if top[0] <= v { top[1] } else { top[0] };
        if runner_up(&best_left[s.left]) >= v - TIE_MARGIN || runner_up(&best_right[s.right]) >= v - TIE_MARGIN {
            s.score.tie = true;
            s.score.value *= TIE_FACTOR;
        }
    }
    all.retain(|s| s.score.value >= threshold);
    all.sort_by(|a, b| b.score.value.total_cmp(&a.score.value).then(a.left.cmp(&b.left)).then(a.right.cmp(&b.right)));
    let mut left_taken = vec![false; left.len()];
    let mut right_taken = vec![false; right.len()];
    all.retain(|s| {
        if left_taken[s.left] || right_taken[s.right] {
            return false;
        }
        left_taken[s.left] = true;
        right_taken[s.right] = true;
        true
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Profile {
        Profile::new(&Fields { names: vec![name], ..Fields::default() })
    }

    #[test]
    fn words_fold_case_accents_punctuation_and_abbreviations() {
        assert_eq!(words("Château Élan Events"), ["chateau", "elan", "events"]);
        assert_eq!(words("12 Airport Road, Suite #4"), ["12", "airport", "rd", "ste", "4"]);
        assert_eq!(words("O'Brien & Sons"), ["o", "brien", "sons"]);
    }

    #[test]
    fn phones_compare_by_their_last_ten_digits() {
        assert_eq!(phone_key("+1 (512) 555-0100"), Some("5125550100".into()));
        assert_eq!(phone_key("512.555.0100"), Some("5125550100".into()));
        assert_eq!(phone_key("555-01"), None);
    }

    #[test]
    fn word_order_case_and_accents_do_not_matter() {
        assert_eq!(score(&named("Hotel Aspen"), &named("aspen hotel")).name, 1.0);
        assert_eq!(score(&named("Chateau Elan Events"), &named("Château Élan Events")).name, 1.0);
        assert_eq!(score(&named("Teske, Daric"), &named("Daric Teske")).name, 1.0);
    }

    #[test]
    fn a_name_contained_in_another_scores_high_and_a_different_one_low() {
        let library = score(&named("Aspen Library"), &named("Aspen Public Library"));
        assert!(library.value >= DEFAULT_THRESHOLD, "{library:?}");
        assert_eq!(library.reasons(), ["name 90% alike"]);
        let bistro = score(&named("Aspen Bistro"), &named("Aspen Hotel"));
        assert!(bistro.value < 0.6, "{bistro:?}");
    }

    #[test]
    fn the_same_street_address_or_phone_lifts_a_pair_and_a_different_street_lowers_it() {
        let site = |name: &str, line: &str, phone: &str| {
            Profile::new(&Fields {
                names: vec![name],
                address_lines: vec![line],
                phones: vec![phone],
                ..Fields::default()
            })
        };
        let a = site("Northside Clinic", "12 Airport Road", "(512) 555-0100");
        let b = site("Bluebird Chiropractic", "12 Airport Rd.", "512-555-0100");
        let s = score(&a, &b);
        assert!(s.same_street && s.same_phone && s.value >= DEFAULT_THRESHOLD, "{s:?}");
        assert_eq!(&s.reasons()[..2], ["same street address", "same phone"]);
        let far = score(&site("Aspen Hotel", "1 Main St", ""), &site("Aspen Hotel", "900 Oak Ave", ""));
        assert!(far.street_differs && far.value < 0.9 * 0.9, "{far:?}");
    }

    #[test]
    fn suggest_pairs_each_record_once_and_marks_ties() {
        let left = [named("Aspen Library"), named("Clinic Wing"), named("Zebra Cafe")];
        let right = [named("Aspen Public Library"), named("Clinic Wing"), named("Clinic Wing"), named("Other")];
        let found = suggest(&left, &right, DEFAULT_THRESHOLD);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].left, found[0].right), (0, 0));
        // With a lower threshold, the tie shows with its reason.
        let low = suggest(&left, &right, 0.5);
        let tie = low.iter().find(|s| s.left == 1).expect("the tie is listed at 0.5");
        assert!(tie.score.tie && tie.score.reasons().contains(&"another record looks as alike".to_string()));
    }

    #[test]
    fn candidates_come_best_first_from_shared_blocks_only() {
        let right = [named("Aspen Hotel"), named("Aspen Public Library"), named("Zebra Cafe")];
        let index = Index::new(&right);
        let found = index.candidates(&named("Aspen Library"), 0.0, 5);
        let order: Vec<usize> = found.iter().map(|(j, _)| *j).collect();
        assert_eq!(order, [1, 0], "Zebra Cafe shares no block key and is never scored");
    }
}
