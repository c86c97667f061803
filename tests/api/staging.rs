//! Staging at the store level: every column a record fills goes in and comes back exactly, on
//! insert and on update, whatever characters the values hold.

use chrono::Utc;
use qbsync::record::{Address, Customer, CustomerDetails, Employee, EmployeeDetails};
use qbsync::store::runs;
use qbsync::store::staging::{self, RecordFilter, StageContext};

use crate::helpers::*;

/// Distinct values, each with characters JSON and SQL must carry as they are, and whitespace
/// around them that must not be trimmed.
struct Values {
    next: usize,
    tag: &'static str,
}

impl Values {
    fn text(&mut self) -> Option<String> {
        self.next += 1;
        Some(format!(" \t{}{} \"q\" \\ \t\n é 🧽 null ' -- \n\n", self.tag, self.next))
    }

    fn address(&mut self) -> Address {
        Address {
            line1: self.text(),
            line2: self.text(),
            line3: self.text(),
            line4: self.text(),
            line5: self.text(),
            city: self.text(),
            state: self.text(),
            postal_code: self.text(),
            country: self.text(),
            note: self.text(),
        }
    }
}

fn customer(tag: &'static str, sublevel: i32, is_active: bool) -> Customer {
    let mut v = Values { next: 0, tag };
    Customer {
        list_id: "80000001-1700000000".into(),
        edit_sequence: v.text(),
        time_modified: v.text(),
        name: v.text().unwrap(),
        full_name: v.text().unwrap(),
        parent_list_id: v.text(),
        is_active,
        details: CustomerDetails {
            time_created: v.text(),
            parent_full_name: v.text(),
            sublevel,
            company_name: v.text(),
            salutation: v.text(),
            first_name: v.text(),
            middle_name: v.text(),
            last_name: v.text(),
            job_title: v.text(),
            bill_address: v.address(),
            ship_address: v.address(),
            phone: v.text(),
            mobile: v.text(),
            alt_phone: v.text(),
            fax: v.text(),
            email: v.text(),
            contact: v.text(),
            notes: v.text(),
            job_status: v.text(),
        },
    }
}

fn employee(tag: &'static str, is_active: bool) -> Employee {
    let mut v = Values { next: 0, tag };
    Employee {
        list_id: "80000002-1700000000".into(),
        edit_sequence: v.text(),
        time_modified: v.text(),
        name: v.text().unwrap(),
        is_active,
        details: EmployeeDetails {
            time_created: v.text(),
            salutation: v.text(),
            first_name: v.text(),
            middle_name: v.text(),
            last_name: v.text(),
            job_title: v.text(),
            address: v.address(),
            phone: v.text(),
            mobile: v.text(),
            alt_phone: v.text(),
            fax: v.text(),
            email: v.text(),
            employee_type: v.text(),
            hired_date: v.text(),
            released_date: v.text(),
            notes: v.text(),
        },
    }
}

async fn staged_customer(app: &TestApp) -> Customer {
    let filter = RecordFilter { limit: 10, ..RecordFilter::default() };
    let (rows, count) = staging::list_customers(&app.db, app.org_id, &filter).await.unwrap();
    assert_eq!(count, Some(1));
    rows[0].record.clone()
}

async fn staged_employee(app: &TestApp) -> Employee {
    let filter = RecordFilter { limit: 10, ..RecordFilter::default() };
    let (rows, count) = staging::list_employees(&app.db, app.org_id, &filter).await.unwrap();
    assert_eq!(count, Some(1));
    rows[0].record.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_of_a_record_is_stored_exactly_on_insert_and_on_update() {
    // Arrange
    let app = spawn_app().await;
    let run = runs::start_run(&app.db, app.conn.id, &qbsync::secrets::Ticket::generate(), Utc::now()).await.unwrap();
    let ctx =
        StageContext { connection_id: app.conn.id, organization_id: app.org_id, run_id: run.run_id, at: Utc::now() };

    for (customer, employee) in [
        (customer("first", 2, true), employee("first", false)),
        // QuickBooks edited both (new EditSequences): every column is written again.
        (customer("second", 0, false), employee("second", true)),
    ] {
        // Act
        let mut tx = app.db.begin().await.unwrap();
        staging::stage_customers(&mut tx, &ctx, vec![customer.clone()]).await.unwrap();
        staging::stage_employees(&mut tx, &ctx, vec![employee.clone()]).await.unwrap();
        tx.commit().await.unwrap();

        // Assert: the store gives back exactly what went in, and so does the API.
        assert_eq!(staged_customer(&app).await, customer);
        assert_eq!(staged_employee(&app).await, employee);
        let api_customer = app.all_customers("").await.remove(0);
        let api_employee = app.all_employees("").await.remove(0);
        for (api, sent) in [
            (api_customer, serde_json::to_value(&customer).unwrap()),
            (api_employee, serde_json::to_value(&employee).unwrap()),
        ] {
            for (key, value) in sent.as_object().unwrap() {
                assert_eq!(&api[key], value, "{key}");
            }
        }
    }
}
