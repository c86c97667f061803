//! Staging at the store level: every column a record fills goes in and comes back exactly, on
//! insert and on update, whatever characters the values hold.

use chrono::Utc;
use qbsync::qbxml::{Address, Customer, Employee};
use qbsync::store::runs;
use qbsync::store::staging::{self, RecordFilter, StageContext};

use crate::helpers::*;

/// Distinct values, each with characters JSON and SQL must carry as they are.
struct Values {
    next: usize,
    tag: &'static str,
}

impl Values {
    fn text(&mut self) -> Option<String> {
        self.next += 1;
        Some(format!("{}{} \"q\" \\ \t\n é 🧽 null ' -- ", self.tag, self.next))
    }

    fn address(&mut self) -> Address {
        Address {
            addr1: self.text(),
            addr2: self.text(),
            addr3: self.text(),
            addr4: self.text(),
            addr5: self.text(),
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
        time_created: v.text(),
        time_modified: v.text(),
        edit_sequence: v.text(),
        name: v.text().unwrap(),
        full_name: v.text().unwrap(),
        is_active,
        parent_list_id: v.text(),
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
        alt_phone: v.text(),
        fax: v.text(),
        email: v.text(),
        contact: v.text(),
        notes: v.text(),
        job_status: v.text(),
    }
}

fn employee(tag: &'static str, is_active: bool) -> Employee {
    let mut v = Values { next: 0, tag };
    Employee {
        list_id: "80000002-1700000000".into(),
        time_created: v.text(),
        time_modified: v.text(),
        edit_sequence: v.text(),
        name: v.text().unwrap(),
        is_active,
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
    }
}

fn address_of(row: [&Option<String>; 10]) -> Address {
    let [addr1, addr2, addr3, addr4, addr5, city, state, postal_code, country, note] = row.map(Clone::clone);
    Address { addr1, addr2, addr3, addr4, addr5, city, state, postal_code, country, note }
}

async fn staged_customer(app: &TestApp) -> Customer {
    let filter = RecordFilter { limit: 10, ..RecordFilter::default() };
    let (rows, count) = staging::list_customers(&app.db, app.org_id, &filter).await.unwrap();
    assert_eq!(count, 1);
    let r = &rows[0];
    Customer {
        list_id: r.list_id.clone(),
        time_created: r.time_created.clone(),
        time_modified: r.time_modified.clone(),
        edit_sequence: r.edit_sequence.clone(),
        name: r.name.clone(),
        full_name: r.full_name.clone(),
        is_active: r.is_active,
        parent_list_id: r.parent_list_id.clone(),
        parent_full_name: r.parent_full_name.clone(),
        sublevel: r.sublevel as i32,
        company_name: r.company_name.clone(),
        salutation: r.salutation.clone(),
        first_name: r.first_name.clone(),
        middle_name: r.middle_name.clone(),
        last_name: r.last_name.clone(),
        job_title: r.job_title.clone(),
        bill_address: address_of([
            &r.bill_addr1,
            &r.bill_addr2,
            &r.bill_addr3,
            &r.bill_addr4,
            &r.bill_addr5,
            &r.bill_city,
            &r.bill_state,
            &r.bill_postal_code,
            &r.bill_country,
            &r.bill_note,
        ]),
        ship_address: address_of([
            &r.ship_addr1,
            &r.ship_addr2,
            &r.ship_addr3,
            &r.ship_addr4,
            &r.ship_addr5,
            &r.ship_city,
            &r.ship_state,
            &r.ship_postal_code,
            &r.ship_country,
            &r.ship_note,
        ]),
        phone: r.phone.clone(),
        alt_phone: r.alt_phone.clone(),
        fax: r.fax.clone(),
        email: r.email.clone(),
        contact: r.contact.clone(),
        notes: r.notes.clone(),
        job_status: r.job_status.clone(),
    }
}

async fn staged_employee(app: &TestApp) -> Employee {
    let filter = RecordFilter { limit: 10, ..RecordFilter::default() };
    let (rows, count) = staging::list_employees(&app.db, app.org_id, &filter).await.unwrap();
    assert_eq!(count, 1);
    let r = &rows[0];
    Employee {
        list_id: r.list_id.clone(),
        time_created: r.time_created.clone(),
        time_modified: r.time_modified.clone(),
        edit_sequence: r.edit_sequence.clone(),
        name: r.name.clone(),
        is_active: r.is_active,
        salutation: r.salutation.clone(),
        first_name: r.first_name.clone(),
        middle_name: r.middle_name.clone(),
        last_name: r.last_name.clone(),
        job_title: r.job_title.clone(),
        address: address_of([
            &r.addr1,
            &r.addr2,
            &r.addr3,
            &r.addr4,
            &r.addr5,
            &r.city,
            &r.state,
            &r.postal_code,
            &r.country,
            &r.address_note,
        ]),
        phone: r.phone.clone(),
        mobile: r.mobile.clone(),
        alt_phone: r.alt_phone.clone(),
        fax: r.fax.clone(),
        email: r.email.clone(),
        employee_type: r.employee_type.clone(),
        hired_date: r.hired_date.clone(),
        released_date: r.released_date.clone(),
        notes: r.notes.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_of_a_record_is_stored_exactly_on_insert_and_on_update() {
    // Arrange
    let app = spawn_app().await;
    let run = runs::start_run(&app.db, app.conn.id, "a-ticket-hash", Utc::now()).await.unwrap();
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

        // Assert
        assert_eq!(staged_customer(&app).await, customer);
        assert_eq!(staged_employee(&app).await, employee);
    }
}
