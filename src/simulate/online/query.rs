//! The subset of Intuit's query language the fake answers, parsed into a [`Query`]. Pure.
//!
//! `SELECT * | count(*) FROM Customer|Employee [WHERE cond [AND cond]...]
//! [ORDERBY field [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS m]`, where a condition is one of
//! `Active IN (true,false)`, `Active = true|false`, `MetaData.LastUpdatedTime <op> '<time>'`
//! (`Metadata` also accepted, ops `>`, `>=`, `<`, `<=`), `Id = '<id>'` or `Id IN ('1', '2')`,
//! and the order field is `Id`, `MetaData.LastUpdatedTime`, `DisplayName` or (customers)
//! `FullyQualifiedName`. Keywords and entity names are case-insensitive; strings are quoted with
//! `'` and escape with `\`. Rules as on Intuit's side: `STARTPOSITION` is 1-based, `MAXRESULTS`
//! defaults to 100 and is cut to 1000, and a query with no `Active` (or `Id`) condition only
//! sees active records. Anything else is a [`QueryError`], which the server answers with
//! Intuit's 400 `QueryParserError` fault (code 4000).

use std::fmt;

use super::clock;

/// The entities the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    Customer,
    Employee,
}

impl Entity {
    /// The name as Intuit spells it in JSON keys and queries.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Customer => "Customer",
            Entity::Employee => "Employee",
        }
    }

    /// Case-insensitive lookup of an entity name.
    pub fn parse(name: &str) -> Option<Entity> {
        if name.eq_ignore_ascii_case("customer") {
            Some(Entity::Customer)
        } else if name.eq_ignore_ascii_case("employee") {
            Some(Entity::Employee)
        } else {
            None
        }
    }
}

/// What a `SELECT` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// `SELECT *`: the records.
    All,
    /// `SELECT count(*)`: `totalCount` only.
    Count,
}

/// A comparison operator on times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    /// Whether `value <op> bound` holds.
    pub fn holds(self, value: i64, bound: i64) -> bool {
        match self {
            Cmp::Gt => value > bound,
            Cmp::Ge => value >= bound,
            Cmp::Lt => value < bound,
            Cmp::Le => value <= bound,
        }
    }
}

/// One `WHERE` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `Active = b` (`Some(b)`) or `Active IN (true,false)` (`None`: both).
    Active(Option<bool>),
    /// `MetaData.LastUpdatedTime <op> '<time>'`, the time as epoch milliseconds.
    LastUpdated(Cmp, i64),
    /// `Id = 'x'` or `Id IN ('x', 'y')`.
    Id(Vec<String>),
}

/// A sort field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderField {
    Id,
    LastUpdatedTime,
    DisplayName,
    FullyQualifiedName,
}

/// A parsed statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub selection: Selection,
    pub entity: Entity,
    pub conditions: Vec<Condition>,
    /// `None`: Intuit's own order (by name), which is not Id order.
    pub order: Option<(OrderField, bool /* descending */)>,
    /// 1-based.
    pub start_position: usize,
    /// 1..=1000.
    pub max_results: usize,
}

/// Default page size when `MAXRESULTS` is absent.
pub const DEFAULT_MAX_RESULTS: usize = 100;
/// Largest page Intuit returns.
pub const MAX_MAX_RESULTS: usize = 1000;

impl Query {
    /// Which active states the query sees: `None` means both.
    pub fn active_filter(&self) -> Option<bool> {
        let mut filter = Some(true);
        let mut has_id = false;
        for condition in &self.conditions {
            match condition {
                Condition::Active(a) => return *a,
                Condition::Id(_) => has_id = true,
                Condition::LastUpdated(..) => {}
            }
        }
        if has_id {
            filter = None;
        }
        filter
    }
}

/// Why a statement was refused; the text goes into the fault's `Detail`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueryParserError: {}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Sym(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "{w}"),
            Token::Str(s) => write!(f, "'{s}'"),
            Token::Sym(s) => write!(f, "{s}"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => return Err(QueryError(format!("unterminated string starting at column {}", at + 1))),
                    },
                    Some((_, '\'')) => break,
                    Some((_, other)) => value.push(other),
                    None => return Err(QueryError(format!("unterminated string starting at column {}", at + 1))),
                }
            }
            tokens.push(Token::Str(value));
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' || c == '+' || c == ':' {
            let mut word = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' || c == '+' || c == ':' {
                    word.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(Token::Word(word));
        } else {
            chars.next();
            let followed_by_eq = chars.peek().is_some_and(|&(_, c)| c == '=');
            let sym = match c {
                '*' => "*",
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '=' => "=",
                '>' if followed_by_eq => ">=",
                '<' if followed_by_eq => "<=",
                '>' => ">",
                '<' => "<",
                _ => return Err(QueryError(format!("Encountered \"{c}\" at line 1, column {}.", at + 1))),
            };
            if sym.len() == 2 {
                chars.next();
            }
            tokens.push(Token::Sym(sym));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }
    fn unexpected(&self, wanted: &str) -> QueryError {
        match self.tokens.get(self.at) {
            Some(token) => QueryError(format!("Encountered \"{token}\" (token {}), expected {wanted}.", self.at + 1)),
            None => QueryError(format!("Encountered \"<EOF>\", expected {wanted}.")),
        }
    }
    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }
    fn keyword(&mut self, keyword: &str) -> Result<(), QueryError> {
        if self.is_keyword(keyword) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected(keyword))
        }
    }
    fn sym(&mut self, sym: &str) -> Result<(), QueryError> {
        if matches!(self.peek(), Some(Token::Sym(s)) if *s == sym) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("\"{sym}\"")))
        }
    }
    fn word(&mut self, wanted: &str) -> Result<String, QueryError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unexpected(wanted)),
        }
    }
    fn number(&mut self, wanted: &str) -> Result<usize, QueryError> {
        let at = self.at;
        let word = self.word(wanted)?;
        word.parse().map_err(|_| {
            self.at = at;
            self.unexpected(wanted)
        })
    }
    fn boolean(&mut self) -> Result<bool, QueryError> {
        let at = self.at;
        let word = self.word("true or false")?;
        if word.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if word.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            self.at = at;
            Err(self.unexpected("true or false"))
        }
    }
    fn string(&mut self) -> Result<String, QueryError> {
        match self.peek() {
            Some(Token::Str(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.unexpected("a quoted value")),
        }
    }
}

fn is_last_updated(field: &str) -> bool {
    field.eq_ignore_ascii_case("MetaData.LastUpdatedTime")
}

/// Parses one statement.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let mut p = Parser { tokens: tokenize(text)?, at: 0 };
    p.keyword("SELECT")?;
    let selection = if matches!(p.peek(), Some(Token::Sym("*"))) {
        p.at += 1;
        Selection::All
    } else if p.is_keyword("count") {
        p.at += 1;
        p.sym("(")?;
        p.sym("*")?;
        p.sym(")")?;
        Selection::Count
    } else {
        // Intuit has no projections either: every field that holds a value comes back.
        return Err(p.unexpected("\"*\" or count(*)"));
    };
    p.keyword("FROM")?;
    let at = p.at;
    let name = p.word("an entity")?;
    let entity = Entity::parse(&name).ok_or_else(|| {
        p.at = at;
        QueryError(format!("the fake serves Customer and Employee only, not {name:?}"))
    })?;

    let mut conditions = Vec::new();
    if p.is_keyword("WHERE") {
        p.at += 1;
        loop {
            conditions.push(condition(&mut p)?);
            if p.is_keyword("AND") {
                p.at += 1;
            } else {
                break;
            }
        }
    }
    let mut order = None;
    if p.is_keyword("ORDERBY") || p.is_keyword("ORDER") {
        if p.is_keyword("ORDER") {
            p.at += 1;
            p.keyword("BY")?;
        } else {
            p.at += 1;
        }
        let at = p.at;
        let field = p.word("a field")?;
        let field = if field.eq_ignore_ascii_case("Id") {
            OrderField::Id
        } else if is_last_updated(&field) {
            OrderField::LastUpdatedTime
        } else if field.eq_ignore_ascii_case("DisplayName") {
            OrderField::DisplayName
        } else if field.eq_ignore_ascii_case("FullyQualifiedName") && entity == Entity::Customer {
            OrderField::FullyQualifiedName
        } else {
            p.at = at;
            return Err(p.unexpected("Id, MetaData.LastUpdatedTime or DisplayName"));
        };
        let descending = if p.is_keyword("DESC") {
            p.at += 1;
            true
        } else {
            if p.is_keyword("ASC") {
                p.at += 1;
            }
            false
        };
        order = Some((field, descending));
    }
    let mut start_position = 1;
    if p.is_keyword("STARTPOSITION") {
        p.at += 1;
        start_position = p.number("a position")?;
        if start_position == 0 {
            return Err(QueryError("STARTPOSITION is 1-based".into()));
        }
    }
    let mut max_results = DEFAULT_MAX_RESULTS;
    if p.is_keyword("MAXRESULTS") {
        p.at += 1;
        max_results = p.number("a count")?.min(MAX_MAX_RESULTS);
        if max_results == 0 {
            return Err(QueryError("MAXRESULTS must be at least 1".into()));
        }
    }
    if p.peek().is_some() {
        return Err(p.unexpected("the end of the statement"));
    }
    Ok(Query { selection, entity, conditions, order, start_position, max_results })
}

fn condition(p: &mut Parser) -> Result<Condition, QueryError> {
    let at = p.at;
    let field = p.word("a field")?;
    if field.eq_ignore_ascii_case("Active") {
        if p.is_keyword("IN") {
            p.at += 1;
            p.sym("(")?;
            let mut seen = vec![p.boolean()?];
            while matches!(p.peek(), Some(Token::Sym(","))) {
                p.at += 1;
                seen.push(p.boolean()?);
            }
            p.sym(")")?;
            let both = seen.contains(&true) && seen.contains(&false);
            Ok(Condition::Active(if both { None } else { Some(seen[0]) }))
        } else {
            p.sym("=")?;
            Ok(Condition::Active(Some(p.boolean()?)))
        }
    } else if is_last_updated(&field) {
        let cmp = match p.next() {
            Some(Token::Sym(">")) => Cmp::Gt,
            Some(Token::Sym(">=")) => Cmp::Ge,
            Some(Token::Sym("<")) => Cmp::Lt,
            Some(Token::Sym("<=")) => Cmp::Le,
            _ => {
                p.at -= 1;
                return Err(p.unexpected("a comparison"));
            }
        };
        let value = p.string()?;
        let at = clock::parse_time(&value).ok_or_else(|| QueryError(format!("not a date-time: {value:?}")))?;
        Ok(Condition::LastUpdated(cmp, at))
    } else if field.eq_ignore_ascii_case("Id") {
        if p.is_keyword("IN") {
            p.at += 1;
            p.sym("(")?;
            let mut ids = vec![p.string()?];
            while matches!(p.peek(), Some(Token::Sym(","))) {
                p.at += 1;
                ids.push(p.string()?);
            }
            p.sym(")")?;
            Ok(Condition::Id(ids))
        } else {
            p.sym("=")?;
            Ok(Condition::Id(vec![p.string()?]))
        }
    } else {
        p.at = at;
        Err(p.unexpected("Active, MetaData.LastUpdatedTime or Id (the fake's subset)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_pull_statement_parses() {
        let q =
            parse("SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000")
                .unwrap();
        assert_eq!(q.selection, Selection::All);
        assert_eq!(q.entity, Entity::Customer);
        assert_eq!(q.conditions, vec![Condition::Active(None)]);
        assert_eq!(q.active_filter(), None);
        assert_eq!(q.order, Some((OrderField::Id, false)));
        assert_eq!((q.start_position, q.max_results), (1001, 1000));
    }

    #[test]
    fn defaults_are_intuits() {
        let q = parse("select * from employee").unwrap();
        assert_eq!(q.entity, Entity::Employee);
        assert_eq!((q.start_position, q.max_results), (1, 100));
        assert_eq!(q.order, None);
        // A plain query sees active records only; an Id lookup sees both.
        assert_eq!(q.active_filter(), Some(true));
        assert_eq!(parse("SELECT * FROM Customer WHERE Id = '7'").unwrap().active_filter(), None);
        assert_eq!(parse("SELECT * FROM Customer WHERE Active = false").unwrap().active_filter(), Some(false));
        assert_eq!(parse("SELECT * FROM Customer WHERE Active IN (true)").unwrap().active_filter(), Some(true));
        // MAXRESULTS is cut to 1000, as Intuit does.
        assert_eq!(parse("SELECT * FROM Customer MAXRESULTS 5000").unwrap().max_results, 1000);
    }

    #[test]
    fn count_and_incremental_forms_parse() {
        let q = parse("SELECT count(*) FROM Customer WHERE Active IN (true,false)").unwrap();
        assert_eq!(q.selection, Selection::Count);
        let q = parse(
            "SELECT * FROM Customer WHERE Metadata.LastUpdatedTime >= '2026-05-01T00:00:00-07:00' AND Active IN (false, true) ORDERBY MetaData.LastUpdatedTime DESC",
        )
        .unwrap();
        assert_eq!(q.conditions, vec![Condition::LastUpdated(Cmp::Ge, 1_777_618_800_000), Condition::Active(None)]);
        assert_eq!(q.order, Some((OrderField::LastUpdatedTime, true)));
        let q = parse(r"SELECT * FROM Employee WHERE Id IN ('1', '2\'3')").unwrap();
        assert_eq!(q.conditions, vec![Condition::Id(vec!["1".into(), "2'3".into()])]);
    }

    #[test]
    fn anything_outside_the_subset_is_a_parser_error() {
        for bad in [
            "",
            "SELECT DisplayName FROM Customer",
            "SELECT * FROM Invoice",
            "SELECT * FROM Customer WHERE DisplayName LIKE 'A%'",
            "SELECT * FROM Customer WHERE Active = maybe",
            "SELECT * FROM Customer WHERE Active = true OR Active = false",
            "SELECT * FROM Customer STARTPOSITION 0",
            "SELECT * FROM Customer MAXRESULTS ten",
            "SELECT * FROM Customer WHERE Id = '7",
            "SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > 'soon'",
            "SELECT * FROM Customer ORDERBY Balance",
            "SELECT * FROM Customer; DROP TABLE Customer",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with("QueryParserError: "), "{bad}: {err}");
        }
    }
}
