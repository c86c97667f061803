//! The fake QuickBooks company file: deterministic generation of a cleaning/janitorial
//! company's customers (with jobs as sub-customers) and employees, and its evolution
//! from one sync to the next (changes, deactivations, deletions).
//!
//! Randomness comes from a small seeded SplitMix64 generator defined here, so a seed gives
//! the same company on every platform and with every dependency version.

use std::collections::HashSet;

/// The fake QuickBooks company file.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Customers and jobs, sorted the way QuickBooks lists them (by full name, jobs under their parent).
    pub customers: Vec<SimCustomer>,
    /// Employees, sorted by name.
    pub employees: Vec<SimEmployee>,
    /// The company's name as QuickBooks reports it in CompanyRet.
    pub company_name: String,
    /// Records deleted by [`Dataset::evolve`], as QuickBooks reports them to ListDeletedQueryRq.
    pub deleted: Vec<SimDeleted>,
}

/// A customer or a job (sub-customer) as QuickBooks stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct SimCustomer {
    /// QuickBooks ListID, e.g. `80000001-1405768916`.
    pub list_id: String,
    /// Optimistic-concurrency token (epoch seconds of the last change, like QuickBooks).
    pub edit_sequence: u64,
    /// `YYYY-MM-DDThh:mm:ss-05:00`.
    pub time_created: String,
    /// `YYYY-MM-DDThh:mm:ss-05:00`.
    pub time_modified: String,
    /// Leaf name.
    pub name: String,
    /// `Parent:Job` for jobs, the name otherwise.
    pub full_name: String,
    /// Parent customer (ListID, FullName) for jobs.
    pub parent: Option<(String, String)>,
    /// 0 for customers, 1 for jobs.
    pub sublevel: u32,
    /// Active flag.
    pub is_active: bool,
    /// Company name, for business customers.
    pub company_name: Option<String>,
    /// Contact first name.
    pub first_name: Option<String>,
    /// Contact last name.
    pub last_name: Option<String>,
    /// Billing address.
    pub bill: Option<SimAddress>,
    /// Shipping (service site) address.
    pub ship: Option<SimAddress>,
    /// Main phone.
    pub phone: Option<String>,
    /// Main e-mail.
    pub email: Option<String>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// `None`, `InProgress`, `Awarded`, `Pending`, `Closed`, `NotAwarded`.
    pub job_status: Option<String>,
}

/// A US postal address.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SimAddress {
    /// First street line.
    pub addr1: Option<String>,
    /// Second street line.
    pub addr2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State code.
    pub state: Option<String>,
    /// ZIP code.
    pub postal_code: Option<String>,
    /// Country, often absent.
    pub country: Option<String>,
}

/// An employee as QuickBooks stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct SimEmployee {
    /// QuickBooks ListID.
    pub list_id: String,
    /// Optimistic-concurrency token.
    pub edit_sequence: u64,
    /// `YYYY-MM-DDThh:mm:ss-05:00`.
    pub time_created: String,
    /// `YYYY-MM-DDThh:mm:ss-05:00`.
    pub time_modified: String,
    /// Display name, `First Last`.
    pub name: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Active flag.
    pub is_active: bool,
    /// Home address.
    pub address: Option<SimAddress>,
    /// Phone.
    pub phone: Option<String>,
    /// Mobile phone.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// `Regular`, `Officer`, `Owner`, `Statutory`.
    pub employee_type: Option<String>,
    /// `YYYY-MM-DD`.
    pub hired_date: Option<String>,
    /// `YYYY-MM-DD`; set for people who left (they are inactive too).
    pub released_date: Option<String>,
    /// Generated social security number. QuickBooks would send it if asked; qbsync must never request or keep it.
    pub ssn: String,
}

/// A record deleted from the company file, as ListDeletedQueryRs reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct SimDeleted {
    /// `Customer` or `Employee`.
    pub list_del_type: String,
    /// ListID of the deleted record.
    pub list_id: String,
    /// Full name at deletion time.
    pub full_name: String,
    /// When the record was created.
    pub time_created: String,
    /// When it was deleted.
    pub time_deleted: String,
}

/// What [`Dataset::evolve`] did, by ListID.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evolution {
    /// Customers given a new name (leaf records) or new address/phone, with bumped EditSequence/TimeModified.
    pub changed: Vec<String>,
    /// Customers made inactive.
    pub deactivated: Vec<String>,
    /// Customers deleted.
    pub removed: Vec<String>,
    /// Employees changed.
    pub employees_changed: Vec<String>,
    /// Employees made inactive (and released).
    pub employees_deactivated: Vec<String>,
    /// Employees deleted.
    pub employees_removed: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// Randomness and time

/// Seeded SplitMix64: tiny, fast, and stable forever for a given seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when n is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// QuickBooks hosts report their standard-time offset; our company sits at -05:00.
pub(crate) const QB_OFFSET_SECS: i64 = -5 * 3600;
/// When the company started using QuickBooks (2014-07-19).
const EPOCH_START: i64 = 1_405_768_916;
/// "Now" for a freshly generated company (2024-06-01T12:00:00Z).
const EPOCH_NOW: i64 = 1_717_243_200;

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats epoch seconds as a QuickBooks DATETIMETYPE in the company's -05:00 offset.
pub(crate) fn format_qb_time(epoch: i64) -> String {
    let local = epoch + QB_OFFSET_SECS;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}-05:00", s / 3600, s / 60 % 60, s % 60)
}

/// Formats epoch seconds as a QuickBooks DATETYPE (local date).
pub(crate) fn format_qb_date(epoch: i64) -> String {
    let (y, m, d) = civil_from_days((epoch + QB_OFFSET_SECS).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss`, optionally followed by `Z` or `±hh:mm`.
/// Without an offset the value is QuickBooks host local time (-05:00). Returns epoch seconds.
pub(crate) fn parse_qb_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo as u32, d as u32) * 86_400;
    let mut offset = QB_OFFSET_SECS;
    let rest = &s[10..];
    if !rest.is_empty() {
        let rb = rest.as_bytes();
        if rb.len() < 9 || rb[0] != b'T' || rb[3] != b':' || rb[6] != b':' {
            return None;
        }
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if h > 23 || mi > 59 || se > 59 {
            return None;
        }
        secs += h * 3600 + mi * 60 + se;
        let tz = &rest[9..];
        if tz == "Z" {
            offset = 0;
        } else if !tz.is_empty() {
            let tb = tz.as_bytes();
            if tb.len() != 6 || (tb[0] != b'+' && tb[0] != b'-') || tb[3] != b':' {
                return None;
            }
            let oh: i64 = tz[1..3].parse().ok()?;
            let om: i64 = tz[4..6].parse().ok()?;
            offset = (oh * 3600 + om * 60) * if tb[0] == b'-' { -1 } else { 1 };
        }
    }
    Some(secs - offset)
}

// ---------------------------------------------------------------------------------------
// Vocabulary

const OWN_COMPANIES: &[&str] = &[
    "Sparkle Commercial Cleaning",
    "BrightPath Janitorial Services",
    "Crystal Clear Facility Care",
    "Green Leaf Cleaning Co.",
    "Spotless Solutions LLC",
    "Prairie Maid Services",
];
const FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Jason",
    "Rebecca",
    "Edward",
    "Laura",
    "Jeffrey",
    "Sharon",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Kathleen",
    "Gary",
    "Amy",
    "Nicholas",
    "Angela",
    "Eric",
    "Shirley",
    "Jonathan",
    "Anna",
    "Stephen",
    "Brenda",
    "Larry",
    "Pamela",
    "Justin",
    "Emma",
    "Scott",
    "Nicole",
    "Brandon",
    "Helen",
    "Samuel",
    "Katherine",
    "Gregory",
    "Christine",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "O'Brien",
    "O'Connor",
    "D'Angelo",
];
const FIRST_INTL: &[&str] = &[
    "Zoë",
    "Jürgen",
    "Søren",
    "Renée",
    "José",
    "Françoise",
    "Björn",
    "Chloé",
    "Inés",
    "Jörg",
    "Léa",
    "Noël",
    "Åsa",
    "Ørjan",
    "Małgorzata",
    "Łukasz",
    "Zdeněk",
    "Céline",
    "Ángel",
    "Anaïs",
];
const LAST_INTL: &[&str] = &[
    "Müller",
    "Núñez",
    "Østergaard",
    "Dvořák",
    "Łukaszewski",
    "Gößling",
    "Peña",
    "Brontë",
    "Lefèvre",
    "Sjöberg",
    "Wójcik",
    "Ibáñez",
    "Çelik",
    "Kovač",
    "Åkesson",
    "Ferreira-Gonçalves",
];
const COMPANY_INTL: &[&str] = &[
    "Café Lumière",
    "Łódź Imports LLC",
    "Crème de la Crème Bakery",
    "Müller Dental Group",
    "Brasserie Noël",
    "Zoë's Yoga Studio",
    "Søren & Co. Architects",
    "Øresund Trading",
    "Piñata Party Rentals",
    "Bäckerei Jürgen",
    "Résidence Beaulieu Apartments",
    "Ñandú Coffee Roasters",
    "Café Olé",
    "Smørrebrød Kitchen",
    "Château Élan Events",
];
const COMPANY_PREFIX: &[&str] = &[
    "Riverside",
    "Oakwood",
    "Summit",
    "Lakeview",
    "Pinecrest",
    "Harbor",
    "Maple",
    "Cedar",
    "Granite",
    "Silverline",
    "Northgate",
    "Westfield",
    "Brookside",
    "Sunrise",
    "Bluebird",
    "Evergreen",
    "Fairview",
    "Highland",
    "Meadowbrook",
    "Stonebridge",
    "Parkside",
    "Willow Creek",
    "Redwood",
    "Bayview",
    "Crescent",
    "Liberty",
    "Heritage",
    "Union Square",
    "Kingsley",
    "Cornerstone",
    "Aspen",
    "Copper Ridge",
];
const COMPANY_KIND: &[&str] = &[
    "Dental Group",
    "Family Medicine",
    "Apartments",
    "Office Park",
    "Law Offices",
    "Animal Hospital",
    "Elementary School",
    "Community Church",
    "Fitness Center",
    "Realty",
    "Medical Plaza",
    "Auto Sales",
    "Montessori",
    "Public Library",
    "Credit Union",
    "Insurance Agency",
    "Pediatrics",
    "Chiropractic",
    "Daycare",
    "Condominiums HOA",
    "Business Center",
    "Brewing Co.",
    "Bistro",
    "Hotel",
    "Senior Living",
    "Veterinary Clinic",
    "Title Company",
    "Orthodontics",
    "Accounting LLC",
    "Storage Center",
];
/// Names with the characters an XML layer must escape: `&`, `'`, `<`, `"`, in that order first.
const COMPANY_SPECIAL: &[&str] = &[
    "Smith & Sons Property Mgmt",
    "O'Reilly's Irish Pub",
    "Bits<Bytes Computer Repair",
    "\"The Loft\" Event Space",
    "AT&T Store #4411",
    "Mike's <Fast> Lube",
    "Dr. O'Neil & Partners",
    "Rock \"n\" Roll Diner",
];
const JOBS: &[&str] = &[
    "Lobby & Restrooms",
    "Nightly Janitorial",
    "Window Washing",
    "Carpet Cleaning",
    "Floor Strip & Wax",
    "Post-Construction Cleanup",
    "Building A",
    "Building B",
    "Suite 200",
    "Warehouse",
    "Annex",
    "Move-Out Clean",
    "Quarterly Deep Clean",
    "Pressure Washing",
    "Kitchen Exhaust",
    "Day Porter",
    "2nd Floor Offices",
    "Parking Garage",
    "Gym & Locker Rooms",
    "Clinic Wing",
];
const JOBS_INTL: &[&str] = &["Façade Cleaning", "Café Area", "Crèche Room", "Résidence Hall"];
const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Pine St",
    "Washington Blvd",
    "Lake Rd",
    "Hillcrest Dr",
    "Park Ave",
    "2nd St",
    "Sunset Blvd",
    "Highland Ave",
    "Mill Rd",
    "Church St",
    "River Rd",
    "Broadway",
    "Commerce Dr",
    "Industrial Pkwy",
    "Market St",
    "Lincoln Way",
    "Jefferson Ave",
    "Spring St",
    "Center St",
    "Airport Rd",
];
/// (city, state, ZIP prefix, area code)
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Austin", "TX", "787", "512"),
    ("Dallas", "TX", "752", "214"),
    ("Houston", "TX", "770", "713"),
    ("San Antonio", "TX", "782", "210"),
    ("Denver", "CO", "802", "303"),
    ("Boulder", "CO", "803", "720"),
    ("Phoenix", "AZ", "850", "602"),
    ("Tempe", "AZ", "852", "480"),
    ("Portland", "OR", "972", "503"),
    ("Seattle", "WA", "981", "206"),
    ("Tacoma", "WA", "984", "253"),
    ("Sacramento", "CA", "958", "916"),
    ("San Jose", "CA", "951", "408"),
    ("Fresno", "CA", "937", "559"),
    ("Columbus", "OH", "432", "614"),
    ("Cleveland", "OH", "441", "216"),
    ("Atlanta", "GA", "303", "404"),
    ("Savannah", "GA", "314", "912"),
    ("Raleigh", "NC", "276", "919"),
    ("Charlotte", "NC", "282", "704"),
    ("Nashville", "TN", "372", "615"),
    ("Memphis", "TN", "381", "901"),
    ("Chicago", "IL", "606", "312"),
    ("Naperville", "IL", "605", "630"),
    ("Minneapolis", "MN", "554", "612"),
    ("Madison", "WI", "537", "608"),
    ("Kansas City", "MO", "641", "816"),
    ("Omaha", "NE", "681", "402"),
    ("Boise", "ID", "837", "208"),
    ("Salt Lake City", "UT", "841", "801"),
    ("Albuquerque", "NM", "871", "505"),
    ("Tampa", "FL", "336", "813"),
    ("Orlando", "FL", "328", "407"),
    ("Miami", "FL", "331", "305"),
    ("Richmond", "VA", "232", "804"),
    ("Pittsburgh", "PA", "152", "412"),
    ("Buffalo", "NY", "142", "716"),
    ("Hartford", "CT", "061", "860"),
    ("Providence", "RI", "029", "401"),
    ("Burlington", "VT", "054", "802"),
];
const NOTES: &[&str] = &[
    "Alarm code on file. Key in lockbox by the side door.",
    "Clean Mon/Wed/Fri after 6pm.",
    "Use green-certified products only.",
    "Check in with the front desk on arrival.",
    "Invoice quarterly.\nPO required on every invoice.",
    "Gate code #4471",
    "Do not move papers on desks.",
    "Dog on premises - friendly.",
];
const MAIL_DOMAINS: &[&str] = &["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "comcast.net"];
const JOB_STATUSES: &[&str] = &["InProgress", "Awarded", "Pending", "Closed", "None", "InProgress"];

// ---------------------------------------------------------------------------------------
// Helpers

/// QuickBooks caps Name at 41 characters.
fn cap(s: &str, n: usize) -> String {
    s.chars().take(n).collect::<String>().trim_end().to_string()
}

/// Rough ASCII folding for e-mail local parts and domains.
fn ascii_slug(s: &str, sep: &str) -> String {
    let mut out = String::new();
    let mut pending_sep = false;
    for c in s.chars() {
        let folded: &str = match c {
            'à' | 'á' | 'â' | 'ä' | 'å' | 'ã' | 'Á' | 'Å' | 'Ä' => "a",
            'æ' => "ae",
            'ç' | 'Ç' => "c",
            'è' | 'é' | 'ê' | 'ë' | 'É' | 'ě' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' | 'Ñ' => "n",
            'ò' | 'ó' | 'ô' | 'ö' | 'ø' | 'Ø' | 'Ö' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ß' => "ss",
            'ł' | 'Ł' => "l",
            'ź' | 'ż' => "z",
            'ř' => "r",
            'č' => "c",
            'ć' => "c",
            _ => "",
        };
        if c.is_ascii_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push_str(sep);
            }
            pending_sep = false;
            out.push(c.to_ascii_lowercase());
        } else if !folded.is_empty() {
            if pending_sep && !out.is_empty() {
                out.push_str(sep);
            }
            pending_sep = false;
            out.push_str(folded);
        } else if c == ' ' || c == '-' || c == '&' {
            pending_sep = true;
        }
    }
    if out.is_empty() { "info".to_string() } else { out }
}

struct Gen {
    rng: Rng,
    taken: HashSet<String>,
    counter: u64,
}

impl Gen {
    fn list_id(&mut self, created: i64) -> String {
        self.counter += 1;
        format!("{:08X}-{}", 0x8000_0000u64 + self.counter, created)
    }

    /// Makes `base` unique (case-insensitively) among names already taken.
    fn unique(&mut self, base: &str) -> String {
        let base = cap(base, 41);
        if self.taken.insert(base.to_lowercase()) {
            return base;
        }
        for n in 2.. {
            let suffix = format!(" ({n})");
            let candidate = format!("{}{}", cap(&base, 41 - suffix.len()), suffix);
            if self.taken.insert(candidate.to_lowercase()) {
                return candidate;
            }
        }
        unreachable!()
    }

    fn phone(&mut self, area: &str) -> String {
        let (a, b) = (200 + self.rng.below(800), self.rng.below(10_000));
        match self.rng.below(3) {
            0 => format!("({area}) {a:03}-{b:04}"),
            1 => format!("{area}-{a:03}-{b:04}"),
            _ => format!("{area}.{a:03}.{b:04}"),
        }
    }

    fn address(&mut self, city_idx: usize, care_of: Option<&str>) -> SimAddress {
        let (city, state, zip, _) = CITIES[city_idx];
        let street = format!("{} {}", 100 + self.rng.below(9800), self.rng.pick(STREETS));
        let suite = if self.rng.one_in(5) { Some(format!("Suite {}", 100 + self.rng.below(400))) } else { None };
        let (addr1, addr2) = match care_of {
            Some(name) if self.rng.one_in(4) => (Some(cap(name, 41)), Some(street)),
            _ => (Some(street), suite),
        };
        let country = match self.rng.below(10) {
            0 => Some("US".to_string()),
            1 => Some("USA".to_string()),
            _ => None,
        };
        SimAddress {
            addr1,
            addr2,
            city: Some(city.to_string()),
            state: Some(state.to_string()),
            postal_code: Some(format!("{zip}{:02}", self.rng.below(100))),
            country,
        }
    }

    fn person(&mut self, intl: bool) -> (String, String) {
        if intl {
            match self.rng.below(3) {
                0 => (self.rng.pick(FIRST_INTL).to_string(), self.rng.pick(LAST).to_string()),
                1 => (self.rng.pick(FIRST).to_string(), self.rng.pick(LAST_INTL).to_string()),
                _ => (self.rng.pick(FIRST_INTL).to_string(), self.rng.pick(LAST_INTL).to_string()),
            }
        } else {
            (self.rng.pick(FIRST).to_string(), self.rng.pick(LAST).to_string())
        }
    }

    fn company(&mut self, intl: bool) -> String {
        if intl {
            if self.rng.one_in(2) {
                self.rng.pick(COMPANY_INTL).to_string()
            } else {
                format!("{} {}", self.rng.pick(LAST_INTL), self.rng.pick(COMPANY_KIND))
            }
        } else if self.rng.one_in(3) {
            format!("{} {}", self.rng.pick(LAST), self.rng.pick(COMPANY_KIND))
        } else {
            format!("{} {}", self.rng.pick(COMPANY_PREFIX), self.rng.pick(COMPANY_KIND))
        }
    }

    fn person_email(&mut self, first: &str, last: &str) -> String {
        let domain = *self.rng.pick(MAIL_DOMAINS);
        let (f, l) = (ascii_slug(first, ""), ascii_slug(last, ""));
        match self.rng.below(3) {
            0 => format!("{f}.{l}@{domain}"),
            1 => format!("{}{l}@{domain}", &f[..1]),
            _ => format!("{f}{l}{}@{domain}", self.rng.below(100)),
        }
    }

    /// A new top-level customer name and its person/company details.
    fn customer_identity(&mut self, special: Option<&str>) -> Identity {
        let intl = self.rng.one_in(15);
        if let Some(name) = special {
            let (first, last) = self.person(false);
            let name = self.unique(name);
            return Identity {
                name: name.clone(),
                company: Some(name),
                first: Some(first),
                last: Some(last),
                is_company: true,
            };
        }
        if self.rng.below(10) < 6 {
            let base = self.company(intl);
            let name = self.unique(&base);
            let (first, last) = self.person(false);
            let with_contact = self.rng.one_in(2);
            Identity {
                name: name.clone(),
                company: Some(name),
                first: with_contact.then_some(first),
                last: with_contact.then_some(last),
                is_company: true,
            }
        } else {
            let (first, last) = self.person(intl);
            let base = if self.rng.below(10) < 7 { format!("{last}, {first}") } else { format!("{first} {last}") };
            let name = self.unique(&base);
            Identity { name, company: None, first: Some(first), last: Some(last), is_company: false }
        }
    }
}

struct Identity {
    name: String,
    company: Option<String>,
    first: Option<String>,
    last: Option<String>,
    is_company: bool,
}

fn sort_key(full_name: &str) -> Vec<String> {
    full_name.split(':').map(|s| s.to_lowercase()).collect()
}

fn sort_customers(customers: &mut [SimCustomer]) {
    customers.sort_by_cached_key(|c| (sort_key(&c.full_name), c.full_name.clone()));
}

fn sort_employees(employees: &mut [SimEmployee]) {
    employees.sort_by_cached_key(|e| (e.name.to_lowercase(), e.name.clone()));
}

// ---------------------------------------------------------------------------------------
// Generation

impl Dataset {
    /// Deterministic for a seed. Realistic cleaning/janitorial clients: companies and people,
    /// US addresses, phones, e-mails; about 1 in 4 top-level customers has 1-3 jobs as
    /// sub-customers (`Parent:Job`, Sublevel 1, ParentRef); about 1 in 12 records inactive;
    /// about 1 in 15 names non-ASCII; some records without address, e-mail or phone; a few names
    /// with `&`, `<`, `'` and `"`. Exactly `customers` customers (jobs included) and `employees`
    /// employees (some released and inactive), sorted like QuickBooks lists them.
    pub fn generate(seed: u64, customers: usize, employees: usize) -> Dataset {
        let mut g = Gen { rng: Rng::new(seed), taken: HashSet::new(), counter: 0 };
        let company_name = g.rng.pick(OWN_COMPANIES).to_string();
        let total = (customers + employees) as i64;
        let span = EPOCH_NOW - EPOCH_START - 86_400 * 30;
        let avg_gap = (span * 9 / 10 / (total + 1)).max(2);
        let mut clock = EPOCH_START;
        let mut tick = |g: &mut Gen| {
            clock = (clock + 1 + g.rng.below(2 * avg_gap as u64 - 1) as i64).min(EPOCH_NOW - 86_400);
            clock
        };
        let modified_after = |g: &mut Gen, created: i64| -> i64 {
            if g.rng.below(10) < 6 { created + g.rng.below((EPOCH_NOW - created) as u64) as i64 } else { created }
        };

        let mut out_c: Vec<SimCustomer> = Vec::with_capacity(customers);
        let mut out_e: Vec<SimEmployee> = Vec::with_capacity(employees);
        let (mut c_left, mut e_left) = (customers, employees);
        let mut top_level = 0usize;
        let mut special_next = 0usize;

        while c_left + e_left > 0 {
            let make_employee = (g.rng.below((c_left + e_left) as u64) as usize) < e_left;
            if make_employee {
                let created = tick(&mut g);
                let modified = modified_after(&mut g, created);
                let first_emp = out_e.is_empty();
                out_e.push(new_employee(&mut g, created, modified, first_emp));
                e_left -= 1;
                continue;
            }
            // A top-level customer, then maybe its jobs.
            let special = if top_level % 37 == 5 {
                special_next += 1;
                Some(COMPANY_SPECIAL[(special_next - 1) % COMPANY_SPECIAL.len()])
            } else if g.rng.one_in(60) {
                Some(*g.rng.pick(COMPANY_SPECIAL))
            } else {
                None
            };
            top_level += 1;
            let created = tick(&mut g);
            let modified = modified_after(&mut g, created);
            let id = g.customer_identity(special);
            let city = g.rng.below(CITIES.len() as u64) as usize;
            let area = CITIES[city].3;
            let list_id = g.list_id(created);
            let bill = if g.rng.one_in(10) { None } else { Some(g.address(city, Some(&id.name))) };
            let ship = if id.is_company && g.rng.below(2) == 0 {
                let c2 = if g.rng.one_in(4) { g.rng.below(CITIES.len() as u64) as usize } else { city };
                Some(g.address(c2, None))
            } else if !id.is_company && bill.is_some() && g.rng.one_in(2) {
                bill.clone()
            } else {
                None
            };
            let phone = if g.rng.one_in(12) { None } else { Some(g.phone(area)) };
            let email = if g.rng.one_in(6) {
                None
            } else if id.is_company {
                let slug = ascii_slug(id.company.as_deref().unwrap_or(&id.name), "");
                let local = match (&id.first, g.rng.below(3)) {
                    (Some(f), 0) => ascii_slug(f, ""),
                    (_, 1) => "office".to_string(),
                    _ => "info".to_string(),
                };
                Some(format!("{local}@{}.com", cap(&slug, 24)))
            } else {
                let (f, l) = (id.first.clone().unwrap_or_default(), id.last.clone().unwrap_or_default());
                Some(g.person_email(&f, &l))
            };
            let notes = if g.rng.one_in(7) { Some(g.rng.pick(NOTES).to_string()) } else { None };
            let is_active = !g.rng.one_in(12);
            let parent = SimCustomer {
                list_id: list_id.clone(),
                edit_sequence: modified as u64,
                time_created: format_qb_time(created),
                time_modified: format_qb_time(modified),
                name: id.name.clone(),
                full_name: id.name.clone(),
                parent: None,
                sublevel: 0,
                is_active,
                company_name: id.company.clone(),
                first_name: id.first.clone(),
                last_name: id.last.clone(),
                bill,
                ship,
                phone,
                email,
                notes,
                job_status: Some("None".to_string()),
            };
            c_left -= 1;
            let jobs = if c_left > 0 && g.rng.one_in(4) { (1 + g.rng.below(3) as usize).min(c_left) } else { 0 };
            let mut job_names: HashSet<String> = HashSet::new();
            let mut kids = Vec::new();
            for _ in 0..jobs {
                let intl = g.rng.one_in(15);
                let mut jname = if intl { g.rng.pick(JOBS_INTL).to_string() } else { g.rng.pick(JOBS).to_string() };
                let mut n = 2;
                while !job_names.insert(jname.to_lowercase()) {
                    jname = format!("Site {n}");
                    n += 1;
                }
                let jcreated = tick(&mut g);
                let jmodified = modified_after(&mut g, jcreated);
                let jcity = if g.rng.one_in(3) { g.rng.below(CITIES.len() as u64) as usize } else { city };
                let ship = Some(g.address(jcity, None));
                kids.push(SimCustomer {
                    list_id: g.list_id(jcreated),
                    edit_sequence: jmodified as u64,
                    time_created: format_qb_time(jcreated),
                    time_modified: format_qb_time(jmodified),
                    full_name: format!("{}:{}", parent.full_name, jname),
                    name: jname,
                    parent: Some((parent.list_id.clone(), parent.full_name.clone())),
                    sublevel: 1,
                    is_active: parent.is_active && !g.rng.one_in(25),
                    company_name: parent.company_name.clone(),
                    first_name: parent.first_name.clone(),
                    last_name: parent.last_name.clone(),
                    bill: parent.bill.clone(),
                    ship,
                    phone: parent.phone.clone(),
                    email: parent.email.clone(),
                    notes: if g.rng.one_in(5) { Some(g.rng.pick(NOTES).to_string()) } else { None },
                    job_status: Some(g.rng.pick(JOB_STATUSES).to_string()),
                });
            }
            c_left -= kids.len();
            out_c.push(parent);
            out_c.extend(kids);
        }
        sort_customers(&mut out_c);
        sort_employees(&mut out_e);
        Dataset { customers: out_c, employees: out_e, company_name, deleted: Vec::new() }
    }
}

fn new_employee(g: &mut Gen, created: i64, modified: i64, owner: bool) -> SimEmployee {
    let intl = g.rng.one_in(15);
    let (mut first, last) = g.person(intl);
    if !intl && g.rng.one_in(40) {
        first = format!("{first} \"{}\"", g.rng.pick(&["Bud", "Sunny", "Red", "Chip"]));
    }
    let name = g.unique(&format!("{first} {last}"));
    let city = g.rng.below(CITIES.len() as u64) as usize;
    let area = CITIES[city].3;
    let address = if g.rng.one_in(10) { None } else { Some(g.address(city, None)) };
    let released = !owner && g.rng.one_in(10);
    let hired = created - g.rng.below(86_400 * 60) as i64;
    let released_at = if released { Some(hired + 86_400 * (30 + g.rng.below(900) as i64)) } else { None };
    let modified = released_at.map(|r| r.max(modified)).unwrap_or(modified).min(EPOCH_NOW);
    let is_active = !released && !g.rng.one_in(30);
    let area_code = g.rng.below(900) + 1;
    let area_code = if area_code == 666 { 667 } else { area_code };
    let phone = if g.rng.one_in(8) { None } else { Some(g.phone(area)) };
    let mobile = if g.rng.one_in(2) { Some(g.phone(area)) } else { None };
    let email = if g.rng.below(3) < 2 {
        let f = first.split(' ').next().unwrap_or(&first).to_string();
        Some(g.person_email(&f, &last))
    } else {
        None
    };
    let employee_type = if owner {
        "Owner"
    } else {
        match g.rng.below(20) {
            0 => "Officer",
            1 | 2 => "Statutory",
            _ => "Regular",
        }
    };
    SimEmployee {
        list_id: g.list_id(created),
        edit_sequence: modified as u64,
        time_created: format_qb_time(created),
        time_modified: format_qb_time(modified),
        name,
        first_name: Some(first),
        last_name: Some(last),
        is_active,
        address,
        phone,
        mobile,
        email,
        employee_type: Some(employee_type.to_string()),
        hired_date: Some(format_qb_date(hired)),
        released_date: released_at.map(|r| format_qb_date(r.min(EPOCH_NOW))),
        ssn: format!("{:03}-{:02}-{:04}", area_code.min(899), 1 + g.rng.below(99), 1 + g.rng.below(9999)),
    }
}

// ---------------------------------------------------------------------------------------
// Evolution

/// How many employees to touch for a customer count, keeping the same share (at least one
/// when the customer count is non-zero and there are employees).
fn employee_share(requested: usize, customers: usize, employees: usize) -> usize {
    if requested == 0 || employees == 0 {
        return 0;
    }
    let share = (requested as f64 / customers.max(1) as f64 * employees as f64).round() as usize;
    share.clamp(1, employees)
}

impl Dataset {
    /// The company one sync later: `changed` records get a new name (leaf records) or a new
    /// address/phone (customers with jobs), a bumped EditSequence and TimeModified;
    /// `deactivated` become inactive; `removed` disappear (and are listed in `deleted`).
    /// Only leaf records (jobs, customers without jobs) are renamed, deactivated or removed,
    /// as QuickBooks requires. Employees get the same share of each (at least one of each
    /// requested kind when there are any). Returns what was done, by ListID.
    pub fn evolve(&mut self, seed: u64, changed: usize, deactivated: usize, removed: usize) -> Evolution {
        let mut g = Gen { rng: Rng::new(seed ^ 0xE7E7_E7E7_0000_0001), taken: HashSet::new(), counter: 0 };
        for c in &self.customers {
            if c.sublevel == 0 {
                g.taken.insert(c.name.to_lowercase());
            }
        }
        for e in &self.employees {
            g.taken.insert(e.name.to_lowercase());
        }
        let latest = self
            .customers
            .iter()
            .map(|c| c.edit_sequence)
            .chain(self.employees.iter().map(|e| e.edit_sequence))
            .max()
            .unwrap_or(EPOCH_NOW as u64) as i64;
        let now = latest.max(EPOCH_NOW) + 86_400 + g.rng.below(3600) as i64;
        let stamp = |g: &mut Gen, old: u64| -> (u64, String) {
            let t = (now + g.rng.below(7200) as i64).max(old as i64 + 1);
            (t as u64, format_qb_time(t))
        };
        let mut evo = Evolution::default();

        // --- customers
        let has_jobs: HashSet<String> =
            self.customers.iter().filter_map(|c| c.parent.as_ref().map(|p| p.0.clone())).collect();
        let mut leaves: Vec<usize> =
            (0..self.customers.len()).filter(|&i| !has_jobs.contains(&self.customers[i].list_id)).collect();
        g.rng.shuffle(&mut leaves);
        let mut it = leaves.into_iter();
        let to_remove: Vec<usize> = it.by_ref().take(removed).collect();
        let mut to_deactivate = Vec::new();
        let mut rest = Vec::new();
        for i in it.by_ref() {
            if to_deactivate.len() < deactivated && self.customers[i].is_active {
                to_deactivate.push(i);
            } else {
                rest.push(i);
            }
            if to_deactivate.len() == deactivated {
                break;
            }
        }
        rest.extend(it);
        let mut to_change: Vec<usize> = rest.into_iter().take(changed).collect();
        if to_change.len() < changed {
            // Parents may still get a new address/phone (no rename, so their jobs stay valid).
            let mut parents: Vec<usize> =
                (0..self.customers.len()).filter(|&i| has_jobs.contains(&self.customers[i].list_id)).collect();
            g.rng.shuffle(&mut parents);
            to_change.extend(parents.into_iter().take(changed - to_change.len()));
        }

        let mut full_names: HashSet<String> = self.customers.iter().map(|c| c.full_name.to_lowercase()).collect();
        for &i in &to_change {
            let (seq, t) = stamp(&mut g, self.customers[i].edit_sequence);
            let is_parent = has_jobs.contains(&self.customers[i].list_id);
            let city = g.rng.below(CITIES.len() as u64) as usize;
            let area = CITIES[city].3;
            let new_name = if is_parent {
                None
            } else if self.customers[i].sublevel == 0 {
                let id = g.customer_identity(None);
                Some(id)
            } else {
                Some(Identity { name: String::new(), company: None, first: None, last: None, is_company: false })
            };
            let c = &mut self.customers[i];
            match new_name {
                Some(id) if c.sublevel == 0 => {
                    g.taken.remove(&c.name.to_lowercase());
                    c.name = id.name.clone();
                    c.full_name = id.name;
                    c.company_name = id.company;
                    c.first_name = id.first;
                    c.last_name = id.last;
                }
                Some(_) => {
                    let parent_full = c.parent.as_ref().map(|p| p.1.clone()).unwrap_or_default();
                    loop {
                        let name = format!("{} - {}", g.rng.pick(JOBS), 2 + g.rng.below(900));
                        let full = format!("{parent_full}:{name}");
                        if full_names.insert(full.to_lowercase()) {
                            full_names.remove(&c.full_name.to_lowercase());
                            c.name = name;
                            c.full_name = full;
                            break;
                        }
                    }
                }
                None => {}
            }
            let care_of = c.name.clone();
            if c.sublevel == 0 {
                c.bill = Some(g.address(city, Some(&care_of)));
            } else {
                c.ship = Some(g.address(city, None));
            }
            c.phone = Some(g.phone(area));
            c.edit_sequence = seq;
            c.time_modified = t;
            evo.changed.push(c.list_id.clone());
        }
        for &i in &to_deactivate {
            let (seq, t) = stamp(&mut g, self.customers[i].edit_sequence);
            let c = &mut self.customers[i];
            c.is_active = false;
            c.edit_sequence = seq;
            c.time_modified = t;
            evo.deactivated.push(c.list_id.clone());
        }
        let remove_ids: HashSet<String> = to_remove.iter().map(|&i| self.customers[i].list_id.clone()).collect();
        for &i in &to_remove {
            let c = &self.customers[i];
            let (_, t) = stamp(&mut g, c.edit_sequence);
            self.deleted.push(SimDeleted {
                list_del_type: "Customer".into(),
                list_id: c.list_id.clone(),
                full_name: c.full_name.clone(),
                time_created: c.time_created.clone(),
                time_deleted: t,
            });
            evo.removed.push(c.list_id.clone());
        }
        self.customers.retain(|c| !remove_ids.contains(&c.list_id));
        sort_customers(&mut self.customers);

        // --- employees
        let total_c = self.customers.len() + to_remove.len();
        let n = self.employees.len();
        let (ec, ed, er) = (
            employee_share(changed, total_c, n),
            employee_share(deactivated, total_c, n),
            employee_share(removed, total_c, n),
        );
        let mut order: Vec<usize> = (0..n).collect();
        g.rng.shuffle(&mut order);
        let mut it = order.into_iter();
        let e_remove: Vec<usize> = it.by_ref().take(er).collect();
        let mut e_deact = Vec::new();
        let mut e_rest = Vec::new();
        for i in it.by_ref() {
            if e_deact.len() < ed && self.employees[i].is_active {
                e_deact.push(i);
            } else {
                e_rest.push(i);
            }
            if e_deact.len() == ed {
                break;
            }
        }
        e_rest.extend(it);
        let e_change: Vec<usize> = e_rest.into_iter().take(ec).collect();
        for &i in &e_change {
            let (seq, t) = stamp(&mut g, self.employees[i].edit_sequence);
            let city = g.rng.below(CITIES.len() as u64) as usize;
            let area = CITIES[city].3;
            let new_last = g.rng.pick(LAST).to_string();
            let e = &self.employees[i];
            let first = e.first_name.clone().unwrap_or_default();
            g.taken.remove(&e.name.to_lowercase());
            let name = g.unique(&format!("{first} {new_last}"));
            let address = Some(g.address(city, None));
            let phone = Some(g.phone(area));
            let e = &mut self.employees[i];
            e.name = name;
            e.last_name = Some(new_last);
            e.address = address;
            e.phone = phone;
            e.edit_sequence = seq;
            e.time_modified = t;
            evo.employees_changed.push(e.list_id.clone());
        }
        for &i in &e_deact {
            let (seq, t) = stamp(&mut g, self.employees[i].edit_sequence);
            let e = &mut self.employees[i];
            e.is_active = false;
            e.released_date = Some(format_qb_date(seq as i64));
            e.edit_sequence = seq;
            e.time_modified = t;
            evo.employees_deactivated.push(e.list_id.clone());
        }
        let e_remove_ids: HashSet<String> = e_remove.iter().map(|&i| self.employees[i].list_id.clone()).collect();
        for &i in &e_remove {
            let e = &self.employees[i];
            let (_, t) = stamp(&mut g, e.edit_sequence);
            self.deleted.push(SimDeleted {
                list_del_type: "Employee".into(),
                list_id: e.list_id.clone(),
                full_name: e.name.clone(),
                time_created: e.time_created.clone(),
                time_deleted: t,
            });
            evo.employees_removed.push(e.list_id.clone());
        }
        self.employees.retain(|e| !e_remove_ids.contains(&e.list_id));
        sort_employees(&mut self.employees);
        evo
    }

    /// Adds a top-level customer with exactly this name (e.g. a hostile one, for tests of how it
    /// is shown), with a billing address and no other detail. Returns its ListID.
    pub fn add_customer(&mut self, name: &str) -> String {
        let n = self.customers.len() + self.deleted.len() + 1;
        let list_id = format!("8FFF{n:04X}-1405768916");
        self.customers.push(SimCustomer {
            list_id: list_id.clone(),
            edit_sequence: 1_405_768_916,
            time_created: format_qb_time(1_405_768_916),
            time_modified: format_qb_time(1_405_768_916),
            name: name.to_string(),
            full_name: name.to_string(),
            parent: None,
            sublevel: 0,
            is_active: true,
            company_name: Some(name.to_string()),
            first_name: None,
            last_name: None,
            bill: Some(SimAddress {
                addr1: Some("1 Test Way".into()),
                city: Some("Springfield".into()),
                state: Some("IL".into()),
                postal_code: Some("62701".into()),
                ..SimAddress::default()
            }),
            ship: None,
            phone: None,
            email: None,
            notes: None,
            job_status: None,
        });
        sort_customers(&mut self.customers);
        list_id
    }

    /// The newest QuickBooks time in the company (modification or deletion), in epoch seconds:
    /// what happens next happens after it.
    pub fn latest_time(&self) -> i64 {
        let times =
            self.customers.iter().map(|c| &c.time_modified).chain(self.employees.iter().map(|e| &e.time_modified));
        times
            .chain(self.deleted.iter().map(|d| &d.time_deleted))
            .filter_map(|t| parse_qb_time(t))
            .max()
            .unwrap_or(EPOCH_NOW)
    }

    /// A new edit of a customer a minute after everything else: a new EditSequence and
    /// TimeModified, as QuickBooks stamps any edit.
    fn stamp_customer(&mut self, list_id: &str) {
        let t = self.latest_time() + 60;
        let c = self.customers.iter_mut().find(|c| c.list_id == list_id).expect("a customer of the company");
        c.edit_sequence = (t as u64).max(c.edit_sequence + 1);
        c.time_modified = format_qb_time(t);
    }

    /// Adds a top-level customer with exactly this name, created and modified a minute after
    /// everything else. Returns its ListID.
    pub fn add_customer_now(&mut self, name: &str) -> String {
        let list_id = self.add_customer(name);
        let t = self.latest_time() + 60;
        let c = self.customers.iter_mut().find(|c| c.list_id == list_id).unwrap();
        c.time_created = format_qb_time(t);
        c.edit_sequence = t as u64;
        c.time_modified = format_qb_time(t);
        list_id
    }

    /// Edits a customer: a new phone number, stamped now.
    pub fn edit_customer(&mut self, list_id: &str, phone: &str) {
        self.customers.iter_mut().find(|c| c.list_id == list_id).unwrap().phone = Some(phone.to_string());
        self.stamp_customer(list_id);
    }

    /// Makes a customer inactive (or active again), stamped now.
    pub fn set_customer_active(&mut self, list_id: &str, active: bool) {
        self.customers.iter_mut().find(|c| c.list_id == list_id).unwrap().is_active = active;
        self.stamp_customer(list_id);
    }

    /// Renames a customer (stamped now). As in QuickBooks, the full names of its jobs change
    /// with it, but the jobs themselves are not edited: their EditSequence and TimeModified stay.
    pub fn rename_customer(&mut self, list_id: &str, name: &str) {
        let c = self.customers.iter_mut().find(|c| c.list_id == list_id).unwrap();
        c.name = name.to_string();
        c.full_name = match &c.parent {
            Some((_, parent)) => format!("{parent}:{name}"),
            None => name.to_string(),
        };
        self.stamp_customer(list_id);
        self.follow_parent(list_id);
        sort_customers(&mut self.customers);
    }

    /// Moves a job under another customer (the job is edited and stamped now; the jobs under it
    /// follow without being edited).
    pub fn move_job(&mut self, list_id: &str, new_parent: &str) {
        let parent = self.customer(new_parent).expect("the new parent is a customer").clone();
        let c = self.customers.iter_mut().find(|c| c.list_id == list_id).unwrap();
        c.parent = Some((parent.list_id.clone(), parent.full_name.clone()));
        c.full_name = format!("{}:{}", parent.full_name, c.name);
        c.sublevel = parent.sublevel + 1;
        self.stamp_customer(list_id);
        self.follow_parent(list_id);
        sort_customers(&mut self.customers);
    }

    /// Brings the full names, parent names and levels of every job under `list_id` up to date,
    /// without editing them.
    fn follow_parent(&mut self, list_id: &str) {
        let mut parents = vec![list_id.to_string()];
        while let Some(parent_id) = parents.pop() {
            let parent = self.customer(&parent_id).unwrap().clone();
            for c in self.customers.iter_mut().filter(|c| c.parent.as_ref().is_some_and(|p| p.0 == parent_id)) {
                c.parent = Some((parent.list_id.clone(), parent.full_name.clone()));
                c.full_name = format!("{}:{}", parent.full_name, c.name);
                c.sublevel = parent.sublevel + 1;
                parents.push(c.list_id.clone());
            }
        }
    }

    /// Deletes a customer (a job or a customer without jobs), a minute after everything else;
    /// it is listed in `deleted` with that TimeDeleted.
    pub fn delete_customer(&mut self, list_id: &str) {
        let t = self.latest_time() + 60;
        let i = self.customers.iter().position(|c| c.list_id == list_id).unwrap();
        assert!(!self.customers.iter().any(|c| c.parent.as_ref().is_some_and(|p| p.0 == list_id)), "it has jobs");
        let c = self.customers.remove(i);
        self.deleted.push(SimDeleted {
            list_del_type: "Customer".into(),
            list_id: c.list_id,
            full_name: c.full_name,
            time_created: c.time_created,
            time_deleted: format_qb_time(t),
        });
    }

    /// Edits a customer at this wall-clock time of the QuickBooks host (`YYYY-MM-DDThh:mm:ss`),
    /// written as QuickBooks writes it: with the host's standard-time offset, even when daylight
    /// saving time is on (so around a change, times can go back).
    pub fn edit_customer_at_local_time(&mut self, list_id: &str, local: &str, phone: &str) {
        let sequence = self.customers.iter().map(|c| c.edit_sequence).max().unwrap_or(0) + 1;
        let c = self.customers.iter_mut().find(|c| c.list_id == list_id).unwrap();
        c.phone = Some(phone.to_string());
        c.edit_sequence = sequence;
        c.time_modified = format!("{local}-05:00");
    }

    /// Looks a customer up by ListID.
    pub fn customer(&self, list_id: &str) -> Option<&SimCustomer> {
        self.customers.iter().find(|c| c.list_id == list_id)
    }

    /// Looks an employee up by ListID.
    pub fn employee(&self, list_id: &str) -> Option<&SimEmployee> {
        self.employees.iter().find(|e| e.list_id == list_id)
    }

    /// The company file path QuickBooks would have open for this company.
    pub fn company_file_path(&self) -> String {
        format!(r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\{}.qbw", self.company_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn non_ascii(s: &str) -> bool {
        !s.is_ascii()
    }

    #[test]
    fn time_formatting_round_trips() {
        assert_eq!(format_qb_time(1_405_768_916), "2014-07-19T06:21:56-05:00");
        assert_eq!(parse_qb_time("2014-07-19T06:21:56-05:00"), Some(1_405_768_916));
        assert_eq!(parse_qb_time("2014-07-19T06:21:56"), Some(1_405_768_916));
        assert_eq!(parse_qb_time("2014-07-19T11:21:56Z"), Some(1_405_768_916));
        assert_eq!(parse_qb_time("2014-07-19"), Some(1_405_746_000));
        assert_eq!(format_qb_date(1_405_768_916), "2014-07-19");
        for bad in ["", "2014-7-19", "2014-07-19T6:21:56", "2014-13-01", "2014-07-19T06:21:56+5", "yesterday"] {
            assert_eq!(parse_qb_time(bad), None, "{bad}");
        }
        for t in [0i64, 951_782_400, 1_709_164_800, EPOCH_NOW] {
            assert_eq!(parse_qb_time(&format_qb_time(t)), Some(t));
        }
    }

    #[test]
    fn an_added_customer_keeps_its_exact_name_and_the_order() {
        let mut d = Dataset::generate(4, 20, 0);
        let id = d.add_customer("<img src=x onerror=alert(1)>");
        assert_eq!(d.customers.len(), 21);
        assert_eq!(d.customer(&id).unwrap().full_name, "<img src=x onerror=alert(1)>");
        let mut sorted = d.customers.clone();
        sort_customers(&mut sorted);
        assert_eq!(sorted, d.customers);
    }

    #[test]
    fn generation_is_deterministic() {
        let a = Dataset::generate(42, 300, 40);
        let b = Dataset::generate(42, 300, 40);
        assert_eq!(a.customers, b.customers);
        assert_eq!(a.employees, b.employees);
        assert_eq!(a.company_name, b.company_name);
        let c = Dataset::generate(43, 300, 40);
        assert_ne!(a.customers, c.customers);
    }

    #[test]
    fn generation_meets_distribution_promises() {
        for &(seed, nc, ne) in &[(1u64, 2000usize, 300usize), (7, 2500, 120), (99, 1, 1), (5, 0, 0), (3, 10, 0)] {
            let d = Dataset::generate(seed, nc, ne);
            assert_eq!(d.customers.len(), nc);
            assert_eq!(d.employees.len(), ne);
            let ids: HashSet<_> =
                d.customers.iter().map(|c| &c.list_id).chain(d.employees.iter().map(|e| &e.list_id)).collect();
            assert_eq!(ids.len(), nc + ne, "ListIDs unique");
            let names: HashSet<_> = d.customers.iter().map(|c| c.full_name.to_lowercase()).collect();
            assert_eq!(names.len(), nc, "full names unique");
            let enames: HashSet<_> = d.employees.iter().map(|e| e.name.to_lowercase()).collect();
            assert_eq!(enames.len(), ne, "employee names unique");
            for c in &d.customers {
                let (hex, secs) = c.list_id.split_once('-').unwrap();
                assert_eq!(hex.len(), 8);
                assert!(hex.chars().all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_lowercase()));
                assert!(secs.parse::<u64>().is_ok());
                assert!(c.time_created.ends_with("-05:00") && c.time_modified.ends_with("-05:00"));
                assert!(c.time_created <= c.time_modified);
                assert_eq!(parse_qb_time(&c.time_modified), Some(c.edit_sequence as i64));
                assert!(c.name.chars().count() <= 41, "{}", c.name);
                match &c.parent {
                    Some((pid, pfull)) => {
                        assert_eq!(c.sublevel, 1);
                        assert_eq!(c.full_name, format!("{pfull}:{}", c.name));
                        let p = d.customer(pid).expect("parent exists");
                        assert_eq!(&p.full_name, pfull);
                        assert!(!c.is_active || p.is_active, "active job under inactive parent");
                    }
                    None => {
                        assert_eq!(c.sublevel, 0);
                        assert_eq!(c.full_name, c.name);
                    }
                }
            }
            // QuickBooks order: jobs right after their parent.
            for w in d.customers.windows(2) {
                assert!(sort_key(&w[0].full_name) <= sort_key(&w[1].full_name));
            }
            if nc < 1000 {
                continue;
            }
            let top: Vec<_> = d.customers.iter().filter(|c| c.sublevel == 0).collect();
            let with_jobs = top
                .iter()
                .filter(|t| d.customers.iter().any(|c| c.parent.as_ref().map(|p| &p.0) == Some(&t.list_id)))
                .count();
            let share = with_jobs as f64 / top.len() as f64;
            assert!((0.18..0.32).contains(&share), "jobs share {share}");
            let per_parent_max = top
                .iter()
                .map(|t| d.customers.iter().filter(|c| c.parent.as_ref().map(|p| &p.0) == Some(&t.list_id)).count())
                .max()
                .unwrap();
            assert!(per_parent_max <= 3);
            let inactive = d.customers.iter().filter(|c| !c.is_active).count() as f64 / nc as f64;
            assert!((0.05..0.13).contains(&inactive), "inactive share {inactive}");
            let intl = d.customers.iter().filter(|c| non_ascii(&c.name)).count() as f64 / nc as f64;
            assert!((1.0 / 30.0..1.0 / 9.0).contains(&intl), "non-ASCII share {intl}");
            assert!(d.customers.iter().any(|c| c.bill.is_none()));
            assert!(d.customers.iter().any(|c| c.email.is_none()));
            assert!(d.customers.iter().any(|c| c.phone.is_none()));
            assert!(d.customers.iter().any(|c| c.company_name.is_none() && c.first_name.is_some()));
            assert!(d.customers.iter().any(|c| c.company_name.is_some()));
            for ch in ['&', '<', '\'', '"'] {
                assert!(d.customers.iter().any(|c| c.name.contains(ch)), "a name with {ch}");
            }
            let released = d.employees.iter().filter(|e| e.released_date.is_some()).count();
            assert!(released > 0);
            assert!(d.employees.iter().filter(|e| e.released_date.is_some()).all(|e| !e.is_active));
            assert!(d.employees.iter().all(|e| e.ssn.len() == 11 && e.ssn.as_bytes()[3] == b'-'));
            assert!(d.employees.iter().any(|e| non_ascii(&e.name)));
        }
    }

    #[test]
    fn evolve_bookkeeping() {
        let mut d = Dataset::generate(11, 500, 60);
        let before = d.clone();
        let evo = d.evolve(5, 20, 10, 5);
        assert_eq!((evo.changed.len(), evo.deactivated.len(), evo.removed.len()), (20, 10, 5));
        assert_eq!(d.customers.len(), 495);
        // 60 employees at the customers' share: 20/500*60 = 2.4 -> 2, 10/500*60 -> 1, 5/500*60 -> 1 (at least one).
        assert_eq!(
            (evo.employees_changed.len(), evo.employees_deactivated.len(), evo.employees_removed.len()),
            (2, 1, 1)
        );
        assert_eq!(d.employees.len(), 59);
        let all: Vec<&String> = evo.changed.iter().chain(&evo.deactivated).chain(&evo.removed).collect();
        let uniq: HashSet<_> = all.iter().collect();
        assert_eq!(uniq.len(), all.len(), "categories are disjoint");
        for id in &evo.changed {
            let (old, new) = (before.customer(id).unwrap(), d.customer(id).unwrap());
            assert!(new.edit_sequence > old.edit_sequence);
            assert!(new.time_modified > old.time_modified);
            assert!(new.name != old.name || new.bill != old.bill || new.ship != old.ship);
            assert!(new.phone != old.phone || new.name != old.name);
        }
        for id in &evo.deactivated {
            let (old, new) = (before.customer(id).unwrap(), d.customer(id).unwrap());
            assert!(old.is_active && !new.is_active);
            assert!(new.edit_sequence > old.edit_sequence);
        }
        for id in &evo.removed {
            assert!(d.customer(id).is_none());
            assert!(d.deleted.iter().any(|x| &x.list_id == id && x.list_del_type == "Customer"));
            assert!(!d.customers.iter().any(|c| c.parent.as_ref().map(|p| &p.0) == Some(id)), "no orphaned jobs");
        }
        for id in &evo.employees_removed {
            assert!(d.employee(id).is_none());
            assert!(d.deleted.iter().any(|x| &x.list_id == id && x.list_del_type == "Employee"));
        }
        for id in &evo.employees_deactivated {
            let e = d.employee(id).unwrap();
            assert!(!e.is_active && e.released_date.is_some());
        }
        for id in &evo.employees_changed {
            assert!(d.employee(id).unwrap().edit_sequence > before.employee(id).unwrap().edit_sequence);
        }
        // Untouched records are identical.
        let touched: HashSet<&String> = all.into_iter().collect();
        for c in &d.customers {
            if !touched.contains(&c.list_id) {
                assert_eq!(Some(c), before.customer(&c.list_id));
            }
        }
        // Jobs still point at their parents' current full names, names stay unique.
        for c in &d.customers {
            if let Some((pid, pfull)) = &c.parent {
                assert_eq!(&d.customer(pid).unwrap().full_name, pfull);
            }
        }
        let names: HashSet<_> = d.customers.iter().map(|c| c.full_name.to_lowercase()).collect();
        assert_eq!(names.len(), d.customers.len());
        // Deterministic.
        let mut d2 = before.clone();
        assert_eq!(d2.evolve(5, 20, 10, 5), evo);
        assert_eq!(d2.customers, d.customers);
        // No employees asked for: none touched.
        let mut d3 = before.clone();
        let e3 = d3.evolve(1, 0, 0, 3);
        assert!(e3.employees_changed.is_empty() && e3.employees_deactivated.is_empty());
        assert_eq!(e3.employees_removed.len(), 1);
    }
}
