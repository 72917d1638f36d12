//! A message as the parsers read it ([`Norm`]): lowercased, accents folded ("recámara" →
//! "recamara", "sí" → "si"), split into tokens — words, numbers with their "$", thousands
//! separators, "k" and glued suffixes ("2br", "60lbs", "700s", "11am", "15th"), times
//! ("10:30"), dates ("12/15", "2026-12-15") and a few symbols — with number words
//! ("twelve hundred", "mil doscientos", "a grand") folded into numbers through the
//! [`Lexicon`]. Phrase matching ([`Norm::has`]) compares whole words, supports `*` prefix
//! cues ("avail*") and forgives one typo in long words ("availible", "utilites").

use crate::lang::Lexicon;
use std::borrow::Cow;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Word,
    Num(Number),
    /// One of `? - + % # / & @ $ ! ,`
    Sym(char),
}

/// A number as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Number {
    /// The value, with a glued "k" applied ("1.2k" is 1200).
    pub value: f64,
    /// Written with "$" before (or after) it.
    pub dollar: bool,
    /// Written with thousands separators ("1,250").
    pub grouped: bool,
    pub decimal: bool,
    /// Digits of a plain integer (no "$", separators, decimals or suffix): 5 for "60615".
    pub plain_digits: usize,
    /// Letters glued after the digits: "br" in "2br", "k" in "1.2k", "s" in "700s".
    pub suffix: String,
    /// "10:30" → Some(30): the number is an hour.
    pub minutes: Option<u32>,
    /// "12/15" or "12/15/26" → (12, 15, year).
    pub slash_date: Option<(u32, u32, Option<i32>)>,
    /// "2026-12-15" → (2026, 12, 15).
    pub iso_date: Option<(i32, u32, u32)>,
    /// Built from number words ("twelve hundred", "two").
    pub from_words: bool,
}

impl Number {
    /// Thousands written as a glued "k" ("15k") or a multiplier word ("15 grand", "15 mil").
    pub fn thousands(&self) -> bool {
        self.suffix == "k"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tok {
    /// Normalised text of the token ("2br", "available", "twelve hundred").
    pub text: String,
    pub kind: Kind,
}

impl Tok {
    pub fn num(&self) -> Option<&Number> {
        match &self.kind {
            Kind::Num(n) => Some(n),
            _ => None,
        }
    }

    pub fn is_word(&self) -> bool {
        self.kind == Kind::Word
    }

    pub fn is_sym(&self, c: char) -> bool {
        self.kind == Kind::Sym(c)
    }
}

/// Lowercases and folds accents and typographic punctuation to plain ASCII where a plain
/// letter exists (á→a, ñ→n, ü→u, ’→', –→-); other characters are kept.
/// [`fold`], borrowing `s` when folding would not change it (lower-case ASCII with nothing
/// to map), as with most cue phrases.
pub fn folded(s: &str) -> Cow<'_, str> {
    let unchanged = s.bytes().all(|b| {
        b.is_ascii() && !b.is_ascii_uppercase() && !matches!(b, b'`' | b'~' | b'\t' | b'\n' | b'\r')
    });
    if unchanged {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(fold(s))
    }
}

pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mapped = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' => {
                'a'
            }
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'Ò' | 'Ó' | 'Ô' | 'Ö' | 'Õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            'ç' | 'Ç' => 'c',
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' | '`' | '´' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' => '"',
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
            | '\u{2212}' | '~' => '-',
            '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{2009}' | '\t' | '\n' | '\r' => ' ',
            '¿' => '?',
            '¡' => '!',
            c => c.to_ascii_lowercase(),
        };
        out.push(mapped);
    }
    out
}

/// A message, normalised and tokenised.
#[derive(Debug, Clone)]
pub struct Norm {
    /// The folded text.
    pub text: String,
    pub toks: Vec<Tok>,
    /// Asked as a question: a "?" anywhere.
    pub question_mark: bool,
    /// Indices of the tokens that are not symbols, in order (phrase matching skips
    /// symbols: "heat-included" reads as "heat included"); computed once, as `toks` is
    /// never changed after [`Norm::new`].
    words: Vec<usize>,
}

/// Symbols kept as tokens (a "," marks a clause boundary for number attribution).
const SYMBOLS: &[char] = &['?', '-', '+', '%', '#', '/', '&', '@', '$', '!', ','];

impl Norm {
    /// Tokenises `raw`, folding number words through `lex` (`None`: digits only).
    pub fn new(raw: &str, lex: Option<&Lexicon>) -> Norm {
        let text = fold(raw);
        let mut toks = tokenize(&text);
        if let Some(lex) = lex {
            toks = fold_number_words(toks, lex);
        }
        let words = (0..toks.len())
            .filter(|&i| !matches!(toks[i].kind, Kind::Sym(_)))
            .collect();
        Norm {
            question_mark: text.contains('?'),
            text,
            toks,
            words,
        }
    }

    /// Calls `found` with each match of the phrase `cue` as (first token, last token)
    /// indices, in order, until it returns `true`; whether one did. The matcher under
    /// `find_all`, `find` and `cue_near`: one folded copy of the cue per call, and no more
    /// of the text scanned than the caller needs.
    fn each_match(&self, cue: &str, mut found: impl FnMut((usize, usize)) -> bool) -> bool {
        // Thousands of cues are tried per message: no allocation for a cue already folded
        // (most are), and its words are split again only where its first word matched.
        let folded = folded(cue);
        let mut words = cue_words(&folded);
        let Some(first) = words.next() else {
            return false;
        };
        let len = 1 + words.count();
        let idx = &self.words;
        for s in 0..idx.len() {
            if s + len > idx.len() {
                break;
            }
            if !word_matches(first, &self.toks[idx[s]].text) {
                continue;
            }
            let rest = cue_words(&folded)
                .skip(1)
                .zip(&idx[s + 1..s + len])
                .all(|(cw, &t)| word_matches(cw, &self.toks[t].text));
            if rest && found((idx[s], idx[s + len - 1])) {
                return true;
            }
        }
        false
    }

    /// Every match of the phrase `cue` as (first token, last token) indices.
    pub fn find_all(&self, cue: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        self.each_match(cue, |m| {
            out.push(m);
            false
        });
        out
    }

    /// The first match of `cue`.
    pub fn find(&self, cue: &str) -> Option<(usize, usize)> {
        let mut first = None;
        self.each_match(cue, |m| {
            first = Some(m);
            true
        });
        first
    }

    pub fn has(&self, cue: &str) -> bool {
        self.find(cue).is_some()
    }

    pub fn has_any<S: AsRef<str>>(&self, cues: &[S]) -> bool {
        cues.iter().any(|c| self.has(c.as_ref()))
    }

    /// The first match of any of `cues`, earliest in the text.
    pub fn find_any<S: AsRef<str>>(&self, cues: &[S]) -> Option<(usize, usize)> {
        cues.iter().filter_map(|c| self.find(c.as_ref())).min()
    }

    /// Words only (numbers and symbols skipped), for counting and language detection.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.toks
            .iter()
            .filter(|t| t.is_word())
            .map(|t| t.text.as_str())
    }

    /// The number of tokens that are words or numbers.
    pub fn len_words(&self) -> usize {
        self.toks
            .iter()
            .filter(|t| !matches!(t.kind, Kind::Sym(_)))
            .count()
    }

    /// Non-symbol tokens within `n` positions before token `i` (nearest first).
    pub fn before(&self, i: usize, n: usize) -> Vec<&Tok> {
        self.toks[..i]
            .iter()
            .rev()
            .filter(|t| !matches!(t.kind, Kind::Sym(_)))
            .take(n)
            .collect()
    }

    /// Non-symbol tokens within `n` positions after token `i` (nearest first).
    pub fn after(&self, i: usize, n: usize) -> Vec<&Tok> {
        self.toks[i + 1..]
            .iter()
            .filter(|t| !matches!(t.kind, Kind::Sym(_)))
            .take(n)
            .collect()
    }

    /// True when any of `cues` matches a phrase ending within `n` tokens before token `i`
    /// (or starting within `n` after it, with `after`).
    pub fn cue_near<S: AsRef<str>>(
        &self,
        i: usize,
        cues: &[S],
        before: usize,
        after: usize,
    ) -> bool {
        cues.iter().any(|c| {
            self.each_match(c.as_ref(), |(s, e)| {
                (e < i && self.gap(e, i) < before) || (s > i && self.gap(i, s) < after)
            })
        })
    }

    /// Non-symbol tokens strictly between `a` and `b` (a < b), plus one; `usize::MAX`
    /// when `b` is not after `a`.
    pub fn gap(&self, a: usize, b: usize) -> usize {
        if b <= a {
            return usize::MAX;
        }
        self.toks[a + 1..b]
            .iter()
            .filter(|t| !matches!(t.kind, Kind::Sym(_)))
            .count()
            + 1
    }
}

/// A folded cue phrase as words ("is heat included" → ["is", "heat", "included"]); a
/// trailing `*` on a word is kept and means "starts with".
fn cue_words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '*'))
        .filter(|w| !w.is_empty())
}

/// One word of a cue against one token: equal; a prefix for `word*`; or one typo
/// (insertion, deletion, substitution or swap) when both are long enough that a typo is
/// likelier than another word, with the same first letter.
pub fn word_matches(cue: &str, tok: &str) -> bool {
    if let Some(prefix) = cue.strip_suffix('*') {
        return tok.starts_with(prefix) && !prefix.is_empty();
    }
    if cue == tok {
        return true;
    }
    cue.len() >= 7
        && tok.len() >= 6
        && cue.as_bytes()[0] == tok.as_bytes()[0]
        && !tok.bytes().any(|b| b.is_ascii_digit())
        && typo_distance_at_most_one(cue.as_bytes(), tok.as_bytes())
}

/// Damerau-Levenshtein distance <= 1.
fn typo_distance_at_most_one(a: &[u8], b: &[u8]) -> bool {
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let mut i = 0;
    while i < la.min(lb) && a[i] == b[i] {
        i += 1;
    }
    if i == la.min(lb) {
        return true; // one trailing extra letter at most
    }
    if la == lb {
        // substitution, or a swap of two neighbours
        a[i + 1..] == b[i + 1..]
            || (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..])
    } else if la > lb {
        a[i + 1..] == b[i..]
    } else {
        a[i..] == b[i + 1..]
    }
}

fn tokenize(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let (tok, next) = number_at(s, i);
            toks.push(tok);
            i = next;
        } else if c.is_ascii_alphabetic() {
            let mut word = String::new();
            while i < b.len() {
                if b[i].is_ascii_alphanumeric() {
                    word.push(b[i] as char);
                    i += 1;
                } else if b[i] == b'\''
                    && i + 1 < b.len()
                    && b[i + 1].is_ascii_alphabetic()
                    && !word.is_empty()
                {
                    i += 1; // "don't" -> "dont"
                } else {
                    break;
                }
            }
            toks.push(Tok {
                text: word,
                kind: Kind::Word,
            });
        } else {
            let ch = s[i..].chars().next().unwrap_or(' ');
            if SYMBOLS.contains(&ch) {
                // A "$" glued to a number belongs to the number.
                let glued_dollar = ch == '$' && next_digit_after_spaces(b, i + 1);
                if !glued_dollar {
                    toks.push(Tok {
                        text: ch.to_string(),
                        kind: Kind::Sym(ch),
                    });
                }
            }
            i += ch.len_utf8();
        }
    }
    toks
}

fn next_digit_after_spaces(b: &[u8], mut i: usize) -> bool {
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i < b.len() && b[i].is_ascii_digit()
}

fn digits_at(b: &[u8], i: usize) -> usize {
    b[i..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Reads a number starting at byte `i` (a digit); returns its token and the next index.
fn number_at(s: &str, start: usize) -> (Tok, usize) {
    let b = s.as_bytes();
    let mut n = Number::default();
    let mut i = start;
    // ISO date: dddd-dd-dd.
    if digits_at(b, i) == 4
        && b.get(i + 4) == Some(&b'-')
        && digits_at(b, i + 5) == 2
        && b.get(i + 7) == Some(&b'-')
        && digits_at(b, i + 8) == 2
        && digits_at(b, i + 8) == 2
        && !b.get(i + 10).is_some_and(u8::is_ascii_digit)
    {
        let y: i32 = s[i..i + 4].parse().unwrap_or(0);
        let m: u32 = s[i + 5..i + 7].parse().unwrap_or(0);
        let d: u32 = s[i + 8..i + 10].parse().unwrap_or(0);
        n.iso_date = Some((y, m, d));
        n.value = f64::from(d);
        return (
            Tok {
                text: s[i..i + 10].to_owned(),
                kind: Kind::Num(n),
            },
            i + 10,
        );
    }
    let mut raw = String::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            raw.push(c as char);
            i += 1;
        } else if c == b','
            && !n.decimal
            && !raw.is_empty()
            && digits_at(b, i + 1) == 3
            && !b.get(i + 4).is_some_and(u8::is_ascii_digit)
        {
            n.grouped = true;
            i += 1;
        } else if c == b','
            && !n.decimal
            && (1..=2).contains(&digits_at(b, i + 1))
            && matches!(b.get(i + 1 + digits_at(b, i + 1)), Some(b'k' | b'K'))
        {
            // "1,2k": a decimal comma before a thousands "k".
            n.decimal = true;
            raw.push('.');
            i += 1;
        } else if c == b'.' && !n.decimal && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            n.decimal = true;
            raw.push('.');
            i += 1;
        } else {
            break;
        }
    }
    n.value = raw.parse().unwrap_or(0.0);
    // "10:30"
    if !n.decimal && !n.grouped && b.get(i) == Some(&b':') && digits_at(b, i + 1) == 2 {
        n.minutes = s[i + 1..i + 3].parse().ok();
        i += 3;
    }
    // "12/15" or "12/15/26"
    if n.minutes.is_none()
        && !n.decimal
        && !n.grouped
        && b.get(i) == Some(&b'/')
        && (1..=2).contains(&digits_at(b, i + 1))
    {
        let d_len = digits_at(b, i + 1);
        let m = n.value as u32;
        let d: u32 = s[i + 1..i + 1 + d_len].parse().unwrap_or(0);
        let mut j = i + 1 + d_len;
        let mut year = None;
        if b.get(j) == Some(&b'/') && matches!(digits_at(b, j + 1), 2 | 4) {
            let y_len = digits_at(b, j + 1);
            let mut y: i32 = s[j + 1..j + 1 + y_len].parse().unwrap_or(0);
            if y < 100 {
                y += 2000;
            }
            year = Some(y);
            j += 1 + y_len;
        }
        if (1..=12).contains(&m) && (1..=31).contains(&d) {
            n.slash_date = Some((m, d, year));
            i = j;
        }
    }
    // Glued letters: "2br", "1.2k", "700s", "11am", "a.m."
    let mut suffix = String::new();
    while i < b.len() && b[i].is_ascii_alphabetic() {
        suffix.push(b[i] as char);
        i += 1;
    }
    if (suffix == "a" || suffix == "p") && b.get(i) == Some(&b'.') && b.get(i + 1) == Some(&b'm') {
        suffix.push('m');
        i += 2;
        if b.get(i) == Some(&b'.') {
            i += 1;
        }
    }
    // "a.m." written apart: "11 a.m."
    if suffix.is_empty() {
        let rest = &s[i..];
        let trimmed = rest.trim_start_matches(' ');
        for (form, norm) in [("a.m", "am"), ("p.m", "pm")] {
            if trimmed.starts_with(form) {
                suffix = norm.to_owned();
                i += rest.len() - trimmed.len() + form.len();
                if b.get(i) == Some(&b'.') {
                    i += 1;
                }
                break;
            }
        }
    }
    if suffix == "k" {
        n.value *= 1000.0;
    }
    // "$" before ("$1,200", "$ 1200") or after ("1200$").
    let before = s[..start].trim_end_matches(' ');
    if before.ends_with('$') {
        n.dollar = true;
    }
    if suffix.is_empty() && b.get(i) == Some(&b'$') {
        n.dollar = true;
        i += 1;
    }
    if !n.dollar && !n.grouped && !n.decimal && suffix.is_empty() && n.minutes.is_none() {
        n.plain_digits = raw.len();
    }
    n.suffix = suffix;
    let text = s[start..i].to_owned();
    (
        Tok {
            text,
            kind: Kind::Num(n),
        },
        i,
    )
}

/// Folds runs of number words into one number token: "twelve hundred" (1200), "fifteen
/// grand" (15000), "a grand" (1000), "mil doscientos" (1200), "treinta y cinco" (35),
/// "eleven fifty" (1150); a digit number followed by a multiplier word ("15 grand",
/// "15 mil") becomes thousands.
fn fold_number_words(toks: Vec<Tok>, lex: &Lexicon) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        // A digit number followed by a multiplier word: "15 grand", "2 thousand", "15 mil".
        if let Some(n) = toks[i].num()
            && n.suffix.is_empty()
            && n.minutes.is_none()
            && n.slash_date.is_none()
            && let Some(next) = toks.get(i + 1)
            && next.is_word()
            && let Some(&m) = lex.multipliers.get(next.text.as_str())
        {
            let mut n = n.clone();
            n.value *= m as f64;
            n.plain_digits = 0;
            n.suffix = if m == 1000 { "k".into() } else { String::new() };
            out.push(Tok {
                text: format!("{} {}", toks[i].text, next.text),
                kind: Kind::Num(n),
            });
            i += 2;
            continue;
        }
        if !toks[i].is_word() || !starts_number(&toks, i, lex) {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        // Collect the run of number words (and "and"/"y" between two of them).
        let mut j = i;
        let mut words: Vec<&str> = Vec::new();
        while j < toks.len() && toks[j].is_word() {
            let w = toks[j].text.as_str();
            let is_num = lex.number_words.contains_key(w) || lex.multipliers.contains_key(w);
            let is_article = (w == "a" || w == "an" || w == "un" || w == "una")
                && j == i
                && toks
                    .get(j + 1)
                    .is_some_and(|t| lex.multipliers.contains_key(t.text.as_str()));
            let is_joiner = (w == "and" || w == "y")
                && !words.is_empty()
                && toks
                    .get(j + 1)
                    .is_some_and(|t| lex.number_words.contains_key(t.text.as_str()));
            if is_num || is_article || is_joiner {
                words.push(w);
                j += 1;
            } else {
                break;
            }
        }
        match value_of_number_words(&words, lex) {
            Some(v) => {
                let thousands = words.iter().any(|w| lex.multipliers.get(*w) == Some(&1000));
                out.push(Tok {
                    text: words.join(" "),
                    kind: Kind::Num(Number {
                        value: v as f64,
                        from_words: true,
                        suffix: if thousands { "k".into() } else { String::new() },
                        ..Number::default()
                    }),
                });
                i = j;
            }
            None => {
                out.push(toks[i].clone());
                i += 1;
            }
        }
    }
    out
}

fn starts_number(toks: &[Tok], i: usize, lex: &Lexicon) -> bool {
    let w = toks[i].text.as_str();
    if lex.number_words.contains_key(w) {
        return true;
    }
    // "mil doscientos", "mil dolares": a multiplier first is a number only when a number
    // or a money word follows ("mil gracias" is thanks).
    if lex.multipliers.contains_key(w)
        && toks.get(i + 1).is_some_and(|t| {
            lex.number_words.contains_key(t.text.as_str()) || lex.is(&t.text, "money")
        })
    {
        return true;
    }
    (w == "a" || w == "an" || w == "un" || w == "una")
        && toks
            .get(i + 1)
            .is_some_and(|t| lex.multipliers.contains_key(t.text.as_str()))
}

/// The value of a run of number words, or `None` if it does not read as one number.
fn value_of_number_words(words: &[&str], lex: &Lexicon) -> Option<u64> {
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut groups: Vec<u64> = Vec::new(); // for "eleven fifty"
    let mut last_was_multiplier = false;
    for w in words {
        if matches!(*w, "and" | "y") {
            continue;
        }
        if matches!(*w, "a" | "an" | "un" | "una") {
            current = 1;
            continue;
        }
        if let Some(&m) = lex.multipliers.get(*w) {
            if current == 0 {
                current = 1;
            }
            if m == 100 {
                current *= 100;
            } else {
                total += current * m;
                current = 0;
            }
            last_was_multiplier = true;
            continue;
        }
        let v = *lex.number_words.get(*w)?;
        // "eleven fifty": a new group starts when a tens/teen word follows a complete one.
        let new_group = (current > 0
            && !last_was_multiplier
            && (current >= 10 || v >= 10)
            && !current.is_multiple_of(10))
            || (current >= 10 && current.is_multiple_of(10) && current < 100 && v >= 10);
        if new_group {
            groups.push(current);
            current = 0;
        }
        current += v;
        last_was_multiplier = false;
    }
    if let [first] = groups[..] {
        // "eleven fifty" = 1150, "twelve hundred" handled by the multiplier above.
        if total == 0 && (10..=99).contains(&first) && (10..=99).contains(&current) {
            return Some(first * 100 + current);
        }
        return None;
    }
    if !groups.is_empty() {
        return None;
    }
    let v = total + current;
    (v > 0 || words.iter().any(|w| lex.number_words.get(*w) == Some(&0))).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(s: &str) -> Vec<f64> {
        let lex = crate::lang::tests::lexicon();
        Norm::new(s, Some(&lex))
            .toks
            .iter()
            .filter_map(|t| t.num().map(|n| n.value))
            .collect()
    }

    #[test]
    fn folding_and_words() {
        let n = Norm::new("¿Cuántas RECÁMARAS? Don't know", None);
        let w: Vec<&str> = n.words().collect();
        assert_eq!(w, vec!["cuantas", "recamaras", "dont", "know"]);
        assert!(n.question_mark);
    }

    #[test]
    fn folded_borrows_only_what_fold_leaves_alone() {
        for s in [
            "no limit",
            "section 8",
            "a-b's",
            "recamaras",
            "",
            "Cuántas",
            "LOUD",
            "a~b",
            "x`y",
            "tab\there",
            "ñ",
        ] {
            let f = folded(s);
            assert_eq!(f, fold(s), "{s:?}");
            assert_eq!(matches!(f, Cow::Borrowed(_)), fold(s) == s, "{s:?}");
        }
    }

    #[test]
    fn multi_word_cues_match_whole_and_in_order() {
        let n = Norm::new("is the 2 bedroom near the bus? no limit on rent", None);
        assert_eq!(n.find("no limit"), n.find("No Limit"));
        assert!(n.find("no limit").is_some());
        assert!(n.find("limit no").is_none());
        assert!(n.find("rent on").is_none());
        assert_eq!(n.find_all("the"), vec![(1, 1), (5, 5)]);
        assert!(n.find("near the bus").is_some());
        assert!(n.find("near the bus stop").is_none());
        assert!(n.find("bedr*").is_some());
    }

    #[test]
    fn numbers_with_their_marks() {
        let n = Norm::new(
            "$1,200-1400 for a 2br, 60lbs, 10:30am, 12/15, 2026-12-15 1.2k",
            None,
        );
        let t: Vec<&Tok> = n.toks.iter().collect();
        let first = t[0].num().unwrap();
        assert_eq!(first.value, 1200.0);
        assert!(first.dollar && first.grouped);
        assert!(t[1].is_sym('-'));
        assert_eq!(t[2].num().unwrap().plain_digits, 4);
        let br = n
            .toks
            .iter()
            .find(|t| t.text == "2br")
            .unwrap()
            .num()
            .unwrap();
        assert_eq!((br.value, br.suffix.as_str()), (2.0, "br"));
        let time = n.toks.iter().find(|t| t.text.starts_with("10:30")).unwrap();
        assert_eq!(time.num().unwrap().minutes, Some(30));
        assert_eq!(time.num().unwrap().suffix, "am");
        let date = n.toks.iter().find(|t| t.text == "12/15").unwrap();
        assert_eq!(date.num().unwrap().slash_date, Some((12, 15, None)));
        let iso = n.toks.iter().find(|t| t.text == "2026-12-15").unwrap();
        assert_eq!(iso.num().unwrap().iso_date, Some((2026, 12, 15)));
        assert_eq!(n.toks.last().unwrap().num().unwrap().value, 1200.0);
    }

    #[test]
    fn number_words() {
        assert_eq!(nums("twelve hundred a month"), vec![1200.0]);
        assert_eq!(nums("15 grand of stuff"), vec![15000.0]);
        assert_eq!(nums("about a grand"), vec![1000.0]);
        assert_eq!(nums("eleven fifty"), vec![1150.0]);
        assert_eq!(nums("two bedrooms and a cat"), vec![2.0]);
        assert_eq!(nums("mil doscientos"), vec![1200.0]);
        assert_eq!(nums("treinta y cinco libras"), vec![35.0]);
        assert_eq!(nums("one hundred and fifty"), vec![150.0]);
        assert_eq!(nums("fifteen thousand"), vec![15000.0]);
        assert_eq!(nums("15 mil"), vec![15000.0]);
    }

    #[test]
    fn phrases_match_words_prefixes_and_one_typo() {
        let n = Norm::new("is it still availible?? heat-included", None);
        assert!(n.has("available"));
        assert!(n.has("avail*"));
        assert!(n.has("heat included"));
        assert!(!n.has("still avail"));
        assert!(!Norm::new("my dog is barking", None).has("parking"));
        assert!(Norm::new("utilites", None).has("utilities"));
        assert!(!Norm::new("cat", None).has("car"));
        assert!(word_matches("apartment", "appartment"));
        assert!(word_matches("bedroom", "bedrom"));
        assert!(!word_matches("bedroom", "bathroom"));
    }

    #[test]
    fn every_match_in_order_the_first_and_the_nearest() {
        // Symbols are skipped ("2-bed" reads as "2 bed"); indices are token indices.
        let n = Norm::new("a 2-bed and a 3 bed, or a bed", None);
        let all = n.find_all("bed");
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
        assert_eq!(n.find("bed"), all.first().copied());
        assert_eq!(
            n.find_all("a bed"),
            vec![all[2]]
                .into_iter()
                .map(|(s, e)| (s - 1, e))
                .collect::<Vec<_>>()
        );
        assert!(n.find_all("no such phrase").is_empty());
        assert!(n.find_all("").is_empty() && n.find("  ").is_none());
        // Near the last "bed" only the "or a" before it; the first match is too far.
        let last = all[2].0;
        let or = vec!["or".to_owned()];
        assert!(n.cue_near(last, &or, 3, 0));
        assert!(!n.cue_near(all[0].0, &or, 3, 0));
    }
}
