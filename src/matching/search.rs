//! The text a list's `?q=` matches, and the words of a query, normalized alike: case and accents
//! folded ("Château" is found by "chateau"), each query word matched on its own (any word order),
//! street types and the like found under both spellings ("Airport Rd" finds "Airport Road" and the
//! other way round), phone numbers found by their digits. Pure; `record` and `store` use it.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::ABBREVIATIONS;

/// Most query words matched one by one; the words after them join the last one (in order).
pub const MAX_QUERY_WORDS: usize = 6;

/// Lower case without accents (compatibility decomposition, combining marks dropped); everything
/// else, punctuation included, kept as it is.
pub fn fold(text: &str) -> String {
    text.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// The other spellings of a folded word: `road` → `rd`, `st` → `street`, `str`, `saint`.
fn other_spellings(word: &str) -> impl Iterator<Item = &'static str> + '_ {
    ABBREVIATIONS.iter().filter_map(move |&(long, short)| {
        if long == word {
            Some(short)
        } else if short == word {
            Some(long)
        } else {
            None
        }
    })
}

/// The digits of a text when it reads like a phone number (seven digits or more among
/// punctuation and spaces), for matching numbers written differently.
fn phone_digits(text: &str) -> Option<String> {
    let phone_like = text.chars().all(|c| c.is_ascii_digit() || " +-().x/".contains(c));
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (phone_like && digits.len() >= 7 && digits.len() < text.trim().len()).then_some(digits)
}

/// A record's search text: each part folded, one part per line, followed by a line with the
/// other spellings of its words and the digits of its phone-like parts.
pub fn search_text<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut out = String::new();
    let mut extra: Vec<String> = Vec::new();
    for part in parts.into_iter().flatten() {
        let folded = fold(part);
        for word in folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            for spelling in other_spellings(word) {
                if !extra.iter().any(|known| known == spelling) {
                    extra.push(spelling.to_string());
                }
            }
        }
        extra.extend(phone_digits(&folded));
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&folded);
    }
    if !extra.is_empty() {
        out.push('\n');
        out.push_str(&extra.join(" "));
    }
    out
}

/// The words of a query, each to be found somewhere in a search text: folded, punctuation at
/// either end trimmed (kept when the word is nothing else), a phone number reduced to its digits.
/// At most [`MAX_QUERY_WORDS`]; the words after them are joined to the last one.
pub fn query_words(q: &str) -> Vec<String> {
    let folded = fold(q);
    let mut words: Vec<String> = folded
        .split_whitespace()
        .map(|word| {
            if let Some(digits) = phone_digits(word) {
                return digits;
            }
            let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric());
            if trimmed.is_empty() { word.to_string() } else { trimmed.to_string() }
        })
        .collect();
    if words.len() > MAX_QUERY_WORDS {
        let rest = words.split_off(MAX_QUERY_WORDS - 1);
        words.push(rest.join(" "));
    }
    words
}

/// Whether a search text holds every word of a query (what the database's LIKE tests do).
pub fn matches(search_text: &str, q: &str) -> bool {
    query_words(q).iter().all(|word| search_text.contains(word.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(parts: &[&str]) -> String {
        search_text(parts.iter().map(|p| Some(*p)))
    }

    #[test]
    fn accents_and_case_are_folded() {
        assert_eq!(fold("Château Élan Events"), "chateau elan events");
        assert!(matches(&text(&["Château Élan Events"]), "Chateau"));
        assert!(matches(&text(&["chateau elan"]), "CHÂTEAU"));
    }

    #[test]
    fn words_are_found_in_any_order() {
        assert!(matches(&text(&["Aspen Hotel"]), "Hotel Aspen"));
        assert!(matches(&text(&["Aspen Hotel", "12 Main St"]), "main aspen"));
        assert!(!matches(&text(&["Aspen Hotel"]), "Hotel Boulder"));
    }

    #[test]
    fn street_types_are_found_under_both_spellings() {
        assert!(matches(&text(&["Bluebird", "12 Airport Road"]), "Airport Rd"));
        assert!(matches(&text(&["Bluebird", "12 Airport Rd."]), "airport road"));
        assert!(matches(&text(&["4 N Main St"]), "north main street"));
        assert!(matches(&text(&["12 Airport Road"]), "Airport Ro"), "a word being typed is found too");
    }

    #[test]
    fn phone_numbers_are_found_by_their_digits() {
        let t = text(&["(415) 555-6579"]);
        assert!(matches(&t, "4155556579"));
        assert!(matches(&t, "415-555-6579"));
        assert!(matches(&t, "555-6579"));
    }

    #[test]
    fn query_words_lose_surrounding_punctuation_but_keep_emails() {
        assert_eq!(query_words("  Rd.  \"Élan\" bob@x.com "), ["rd", "elan", "bob@x.com"]);
        assert_eq!(query_words("\""), ["\""]);
        assert_eq!(query_words("a b c d e f g h"), ["a", "b", "c", "d", "e", "f g h"]);
    }

    #[test]
    fn parts_are_one_per_line_and_extras_come_last() {
        assert_eq!(text(&["Château", "12 Airport Rd"]), "chateau\n12 airport rd\nroad");
    }
}
