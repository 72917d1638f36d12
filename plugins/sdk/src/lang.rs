//! Languages as data. A language is two JSON documents: the SDK's lexicon (`sdk/lang/<code>.json`:
//! the words the shared parsers need — numbers, months, weekdays, cue phrases for dates,
//! money, pets, bedrooms, handoffs — its detection words and date formats) and each
//! agent's pack (`<agent>/lang/<code>.json`: the agent's own cue phrases and its reply
//! templates). Understanding uses every language's cues at once (a renter mixing "section
//! 8" into Spanish is still understood); replies use the lead's language, falling back to
//! the default (first) language for a template a pack lacks. A third language is a third
//! pair of documents — built in, or passed in the agent's config under `languages` — and
//! no code.
//!
//! Templates are lists of variants (`"thanks": ["You're welcome!", "Anytime!"]`) with
//! `{placeholders}`; a `seed` picks the variant, which is how agents avoid repeating a
//! reply word for word.

use crate::time::{self, Zone};
use crate::words::Norm;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Deref;

/// A word, phrase or template of a language document. Parsed from a built-in document (a
/// `&'static str` compiled into the plugin) it borrows from that document instead of
/// being copied: the host gives every invocation a fresh instance, so the packs are
/// parsed on every message, and copying their ~4,500 strings was most of an agent's fuel.
/// Parsed from the operator's config it owns its text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Word<'a>(Cow<'a, str>);

impl Word<'_> {
    /// The same text, owned (for a document parsed from text that does not live forever).
    pub fn into_owned(self) -> Word<'static> {
        Word(Cow::Owned(self.0.into_owned()))
    }
}

impl Deref for Word<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Word<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Word<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> From<&'a str> for Word<'a> {
    fn from(s: &'a str) -> Self {
        Word(Cow::Borrowed(s))
    }
}

impl From<String> for Word<'_> {
    fn from(s: String) -> Self {
        Word(Cow::Owned(s))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Word<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Word<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Word<'a>, E> {
                Ok(Word(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Word<'a>, E> {
                Ok(Word(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Word<'a>, E> {
                Ok(Word(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit(std::marker::PhantomData))
    }
}

/// A document's words, owned: every `Word` in a map or list made `'static`.
fn owned_list(v: Vec<Word<'_>>) -> Vec<Word<'static>> {
    v.into_iter().map(Word::into_owned).collect()
}

fn owned_map<V>(m: BTreeMap<Word<'_>, V>) -> BTreeMap<Word<'static>, V> {
    m.into_iter().map(|(k, v)| (k.into_owned(), v)).collect()
}

fn owned_phrases(
    m: BTreeMap<Word<'_>, Vec<Word<'_>>>,
) -> BTreeMap<Word<'static>, Vec<Word<'static>>> {
    m.into_iter()
        .map(|(k, v)| (k.into_owned(), owned_list(v)))
        .collect()
}

/// Operator text that may be given per language: `"gated lot"` or
/// `{"en": "gated lot", "es": "estacionamiento cerrado"}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    ByLanguage(BTreeMap<String, String>),
}

impl Default for Text {
    fn default() -> Self {
        Text::Plain(String::new())
    }
}

impl Text {
    /// The text in `code`, else in English, else any.
    pub fn get(&self, code: &str) -> &str {
        match self {
            Text::Plain(s) => s,
            Text::ByLanguage(m) => m
                .get(code)
                .or_else(|| m.get("en"))
                .or_else(|| m.values().next())
                .map(String::as_str)
                .unwrap_or(""),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Text::Plain(s) => s.trim().is_empty(),
            Text::ByLanguage(m) => m.values().all(|s| s.trim().is_empty()),
        }
    }

    /// Every language's text (for matching names and aliases).
    pub fn all(&self) -> Vec<&str> {
        match self {
            Text::Plain(s) => vec![s.as_str()],
            Text::ByLanguage(m) => m.values().map(String::as_str).collect(),
        }
    }
}

/// The built-in lexicons, default language first.
pub const SDK_LEXICONS: &[&str] = &[
    include_str!("../lang/en.json"),
    include_str!("../lang/es.json"),
];

/// How a language writes dates and lists.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Format {
    pub weekday_short: Vec<String>,
    pub weekday_long: Vec<String>,
    pub month_short: Vec<String>,
    /// A date with its weekday: placeholders `{wd}`, `{mon}`, `{d}` ("{wd} {mon} {d}").
    pub date: String,
    /// A date without the weekday ("{mon} {d}").
    pub month_day: String,
    pub and: String,
    pub or: String,
    pub am: String,
    pub pm: String,
    /// "today" and "tomorrow", for labels close to now.
    pub today: String,
    pub tomorrow: String,
}

/// Phrases by name: a language's cues, or its templates' variants.
pub type Phrases<'a> = BTreeMap<Word<'a>, Vec<Word<'a>>>;

/// The SDK half of a language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconDoc<'a> {
    pub code: String,
    pub name: String,
    /// Words typical of this language and not of the others, for detection.
    #[serde(borrow)]
    pub detect: Vec<Word<'a>>,
    /// Phrases that ask for this language ("no hablo ingles", "in english please").
    #[serde(borrow)]
    pub select: Vec<Word<'a>>,
    #[serde(borrow)]
    pub months: BTreeMap<Word<'a>, u32>,
    /// Month words that are also common words ("may", "mar"): a month only next to a day.
    #[serde(default, borrow)]
    pub months_need_day: Vec<Word<'a>>,
    #[serde(borrow)]
    pub weekdays: BTreeMap<Word<'a>, u32>,
    #[serde(borrow)]
    pub numbers: BTreeMap<Word<'a>, u64>,
    #[serde(borrow)]
    pub multipliers: BTreeMap<Word<'a>, u64>,
    pub format: Format,
    #[serde(borrow)]
    pub cues: Phrases<'a>,
}

impl LexiconDoc<'_> {
    pub fn into_owned(self) -> LexiconDoc<'static> {
        LexiconDoc {
            code: self.code,
            name: self.name,
            detect: owned_list(self.detect),
            select: owned_list(self.select),
            months: owned_map(self.months),
            months_need_day: owned_list(self.months_need_day),
            weekdays: owned_map(self.weekdays),
            numbers: owned_map(self.numbers),
            multipliers: owned_map(self.multipliers),
            format: self.format,
            cues: owned_phrases(self.cues),
        }
    }
}

/// The agent half of a language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackDoc<'a> {
    pub code: String,
    #[serde(default, borrow)]
    pub cues: Phrases<'a>,
    #[serde(borrow)]
    pub templates: Phrases<'a>,
}

impl PackDoc<'_> {
    pub fn into_owned(self) -> PackDoc<'static> {
        PackDoc {
            code: self.code,
            cues: owned_phrases(self.cues),
            templates: owned_phrases(self.templates),
        }
    }
}

/// A language added by the operator in the agent's config (`languages`: a list of these).
/// Its text is owned: the config is parsed from a string that does not outlive the parse.
#[derive(Debug, Clone)]
pub struct ExtraLanguage {
    pub lexicon: LexiconDoc<'static>,
    pub pack: PackDoc<'static>,
}

impl<'de> Deserialize<'de> for ExtraLanguage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Doc<'a> {
            #[serde(borrow)]
            lexicon: LexiconDoc<'a>,
            #[serde(borrow)]
            pack: PackDoc<'a>,
        }
        let doc = Doc::deserialize(d)?;
        Ok(ExtraLanguage {
            lexicon: doc.lexicon.into_owned(),
            pack: doc.pack.into_owned(),
        })
    }
}

/// One language the agent can reply in.
#[derive(Debug, Clone)]
pub struct Language {
    pub code: String,
    pub name: String,
    detect: BTreeSet<Word<'static>>,
    select: Vec<Word<'static>>,
    pub format: Format,
    templates: Phrases<'static>,
}

/// Everything the parsers read words with: the union of every language's words.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    pub number_words: BTreeMap<Word<'static>, u64>,
    pub multipliers: BTreeMap<Word<'static>, u64>,
    pub months: BTreeMap<Word<'static>, u32>,
    pub months_need_day: BTreeSet<Word<'static>>,
    pub weekdays: BTreeMap<Word<'static>, u32>,
    cues: Phrases<'static>,
}

impl Lexicon {
    /// The phrases of cue `name` in every language (empty if no language has it).
    pub fn cues(&self, name: &str) -> &[Word<'static>] {
        self.cues.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// True when `norm` contains a phrase of cue `name`.
    pub fn has(&self, norm: &Norm, name: &str) -> bool {
        norm.has_any(self.cues(name))
    }

    /// The earliest match of cue `name` in `norm`.
    pub fn find(&self, norm: &Norm, name: &str) -> Option<(usize, usize)> {
        norm.find_any(self.cues(name))
    }

    /// Every match of cue `name`, in text order.
    pub fn find_all(&self, norm: &Norm, name: &str) -> Vec<(usize, usize)> {
        let mut all: Vec<(usize, usize)> = self
            .cues(name)
            .iter()
            .flat_map(|c| norm.find_all(c))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// True when a word of cue `name` is the single token `tok`.
    pub fn is(&self, tok: &str, name: &str) -> bool {
        self.cues(name)
            .iter()
            .any(|c| !c.contains(' ') && crate::words::word_matches(c, tok))
    }

    /// The cue names this lexicon knows (for validation and tests).
    pub fn cue_names(&self) -> impl Iterator<Item = &str> {
        self.cues.keys().map(|k| &**k)
    }
}

/// The languages an agent speaks, default first, and the merged lexicon.
#[derive(Debug, Clone)]
pub struct Languages {
    pub langs: Vec<Language>,
    pub lex: Lexicon,
}

impl Languages {
    /// Builds the agent's languages from the SDK lexicons, the agent's packs (both default
    /// language first) and any extra languages from config. Every pack must match a
    /// lexicon by code, and every language must have every template of the default one
    /// with the same placeholders; errors name what is wrong. Run it when the plugin is
    /// loaded (`describe`) and in tests.
    pub fn build(
        lexicons: &[&'static str],
        packs: &[&'static str],
        extra: &[ExtraLanguage],
    ) -> Result<Languages, String> {
        let langs = Self::rebuild(lexicons, packs, extra)?;
        langs.check_templates()?;
        Ok(langs)
    }

    /// [`Languages::build`] without the check of every template, for the message and job
    /// paths: `describe` checked the same packs and config when the host loaded the
    /// version, and each invocation rebuilds the languages in a fresh instance, where
    /// the check was a tenth of the work.
    pub fn rebuild(
        lexicons: &[&'static str],
        packs: &[&'static str],
        extra: &[ExtraLanguage],
    ) -> Result<Languages, String> {
        let mut lex_docs: Vec<LexiconDoc<'static>> = lexicons
            .iter()
            .enumerate()
            .map(|(i, s)| crate::config::parse_str(s).map_err(|e| format!("lexicon {i}: {e}")))
            .collect::<Result<_, _>>()?;
        let mut pack_docs: Vec<PackDoc<'static>> = packs
            .iter()
            .enumerate()
            .map(|(i, s)| crate::config::parse_str(s).map_err(|e| format!("pack {i}: {e}")))
            .collect::<Result<_, _>>()?;
        for (i, x) in extra.iter().enumerate() {
            if x.lexicon.code != x.pack.code {
                return Err(format!(
                    "languages[{i}]: lexicon code `{}` and pack code `{}` differ",
                    x.lexicon.code, x.pack.code
                ));
            }
            if let Some(j) = lex_docs.iter().position(|l| l.code == x.lexicon.code) {
                lex_docs[j] = x.lexicon.clone();
                if let Some(k) = pack_docs.iter().position(|p| p.code == x.pack.code) {
                    pack_docs[k] = x.pack.clone();
                }
            } else {
                lex_docs.push(x.lexicon.clone());
                pack_docs.push(x.pack.clone());
            }
        }
        for p in &pack_docs {
            if !lex_docs.iter().any(|l| l.code == p.code) {
                return Err(format!("pack `{}` has no lexicon", p.code));
            }
        }
        let mut langs: Vec<Language> = Vec::new();
        let mut lex = Lexicon::default();
        // Documents and packs are consumed: their words move into the tables (this runs on
        // every invocation). A language is built once, from its first lexicon.
        for doc in lex_docs {
            if langs.iter().any(|l| l.code == doc.code) {
                continue;
            }
            let Some(at) = pack_docs.iter().position(|p| p.code == doc.code) else {
                continue; // the agent does not speak this language
            };
            let pack = pack_docs.swap_remove(at);
            check_format(&doc)?;
            lex.number_words.extend(doc.numbers);
            lex.multipliers.extend(doc.multipliers);
            lex.months.extend(doc.months);
            lex.months_need_day.extend(doc.months_need_day);
            lex.weekdays.extend(doc.weekdays);
            // The lexicon's phrases for a cue first, then the pack's.
            for (name, phrases) in doc.cues.into_iter().chain(pack.cues) {
                lex.cues.entry(name).or_default().extend(phrases);
            }
            langs.push(Language {
                code: doc.code,
                name: doc.name,
                detect: doc
                    .detect
                    .into_iter()
                    .map(|w| {
                        match crate::words::folded(&w) {
                            Cow::Owned(f) => Some(f),
                            Cow::Borrowed(_) => None,
                        }
                        .map_or(w, Word::from)
                    })
                    .collect(),
                select: doc.select,
                format: doc.format,
                templates: pack.templates,
            });
        }
        if langs.is_empty() {
            return Err("no language has both a lexicon and a pack".into());
        }
        Ok(Languages { langs, lex })
    }

    /// Every language has every template of the default one, with no placeholder the
    /// default's does not use.
    fn check_templates(&self) -> Result<(), String> {
        let (default, langs) = (&self.langs[0], &self.langs);
        // Every variant, in every language, may only use placeholders the default
        // language's template uses (a variant may leave some out): a typo or a
        // translation inventing one is caught at load.
        let mut problems = Vec::new();
        for (id, variants) in &default.templates {
            let allowed: Vec<&str> = variants.iter().flat_map(|v| placeholders(v)).collect();
            for l in langs {
                match l.templates.get(id) {
                    None if l.code != default.code => {
                        problems.push(format!("{}: template `{id}` is missing", l.code))
                    }
                    Some(v) if v.is_empty() => {
                        problems.push(format!("{}: template `{id}` has no variants", l.code))
                    }
                    Some(v) => {
                        for (n, text) in v.iter().enumerate() {
                            let unknown: Vec<&str> = placeholders(text)
                                .into_iter()
                                .filter(|p| !allowed.contains(p))
                                .collect();
                            if !unknown.is_empty() {
                                problems.push(format!(
                                    "{}: template `{id}` variant {n} uses {unknown:?}, which the default language's `{id}` does not",
                                    l.code
                                ));
                            }
                        }
                    }
                    None => {}
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(())
    }

    /// An agent's languages from the SDK lexicons, its `packs` and the `extra` languages of
    /// its config: checked in full when the host loads the version (`at_load`, from
    /// `describe`: [`Languages::build`]), rebuilt without that check on the message and job
    /// paths ([`Languages::rebuild`]). An error is the plugin's `config-invalid`.
    pub fn for_agent(
        packs: &[&'static str],
        extra: &[ExtraLanguage],
        at_load: bool,
    ) -> Result<Languages, crate::PluginError> {
        let build = if at_load {
            Languages::build
        } else {
            Languages::rebuild
        };
        build(SDK_LEXICONS, packs, extra)
            .map_err(|e| crate::error("config-invalid", &format!("languages: {e}")))
    }

    pub fn default_code(&self) -> &str {
        &self.langs[0].code
    }

    /// The language `code`, or the default one.
    pub fn get(&self, code: &str) -> &Language {
        self.langs
            .iter()
            .find(|l| l.code == code)
            .unwrap_or(&self.langs[0])
    }

    /// The language a message asks for by name ("no hablo inglés", "english please"),
    /// the longest matching phrase winning.
    pub fn requested(&self, norm: &Norm) -> Option<String> {
        let mut best: Option<(usize, &str)> = None;
        for l in &self.langs {
            for phrase in &l.select {
                if norm.has(phrase) {
                    let len = phrase.split_whitespace().count();
                    if best.is_none_or(|(n, _)| len > n) {
                        best = Some((len, &l.code));
                    }
                }
            }
        }
        best.map(|(_, code)| code.to_owned())
    }

    /// The language a message is written in or asks for, given the conversation's
    /// `current` one: a phrase asking for a language wins (the longest one, so "don't
    /// speak english" beats "speak english"); otherwise words typical of one language
    /// switch to it when they clearly outnumber the current language's.
    pub fn detect(&self, norm: &Norm, current: Option<&str>) -> String {
        if let Some(code) = self.requested(norm) {
            return code;
        }
        let scores: Vec<(usize, &str)> = self
            .langs
            .iter()
            .map(|l| {
                let hits: BTreeSet<&str> = norm.words().filter(|w| l.detect.contains(*w)).collect();
                (hits.len(), l.code.as_str())
            })
            .collect();
        let current = current.unwrap_or(self.default_code());
        let cur_score = scores
            .iter()
            .find(|(_, c)| *c == current)
            .map(|s| s.0)
            .unwrap_or(0);
        let best = scores
            .iter()
            .filter(|(_, c)| *c != current)
            .max_by_key(|(s, _)| *s);
        match best {
            Some(&(s, code)) if s >= 2 && s >= 2 * cur_score.max(1) && s > cur_score => {
                code.to_owned()
            }
            Some(&(s, code)) if s >= 1 && cur_score == 0 && norm.len_words() <= 3 => {
                code.to_owned()
            }
            _ => current.to_owned(),
        }
    }

    /// Renders template `id` in language `code` (falling back to the default language),
    /// variant `seed % variants`, with `{name}` placeholders filled from `args`.
    pub fn render(&self, code: &str, id: &str, seed: usize, args: &[(&str, &str)]) -> String {
        let lang = self.get(code);
        let variants = lang
            .templates
            .get(id)
            .or_else(|| self.langs[0].templates.get(id));
        let Some(variants) = variants.filter(|v| !v.is_empty()) else {
            debug_assert!(false, "no template `{id}`");
            return String::new();
        };
        fill(&variants[seed % variants.len()], args)
    }

    /// How many variants template `id` has in language `code`.
    pub fn variants(&self, code: &str, id: &str) -> usize {
        self.get(code)
            .templates
            .get(id)
            .or_else(|| self.langs[0].templates.get(id))
            .map_or(0, Vec::len)
    }

    /// Template ids of the default language (for tests).
    pub fn template_ids(&self) -> Vec<&str> {
        self.langs[0].templates.keys().map(|k| &**k).collect()
    }
}

fn check_format(doc: &LexiconDoc<'_>) -> Result<(), String> {
    let f = &doc.format;
    if f.weekday_short.len() != 7 || f.weekday_long.len() != 7 {
        return Err(format!(
            "lexicon {}: format weekdays must list 7 days",
            doc.code
        ));
    }
    if f.month_short.len() != 12 {
        return Err(format!(
            "lexicon {}: format.month_short must list 12 months",
            doc.code
        ));
    }
    if let Some((w, d)) = doc.weekdays.iter().find(|(_, d)| **d > 6) {
        return Err(format!(
            "lexicon {}: weekdays.{w} = {d}, must be 0-6",
            doc.code
        ));
    }
    if let Some((w, m)) = doc.months.iter().find(|(_, m)| !(1..=12).contains(*m)) {
        return Err(format!(
            "lexicon {}: months.{w} = {m}, must be 1-12",
            doc.code
        ));
    }
    Ok(())
}

/// The `{name}`s of a template, sorted and deduplicated.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            out.push(name);
        }
        rest = &after[close + 1..];
    }
    out.sort();
    out.dedup();
    out
}

fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        debug_assert!(false, "template argument `{name}` missing in {template:?}");
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl Language {
    /// "Sat Nov 28" (or the language's order).
    pub fn date(&self, days: i64) -> String {
        let (_, m, d) = time::civil_from_days(days);
        let f = &self.format;
        fill(
            &f.date,
            &[
                ("wd", &f.weekday_short[time::weekday(days) as usize]),
                ("mon", &f.month_short[m as usize - 1]),
                ("d", &d.to_string()),
            ],
        )
    }

    /// "Nov 28".
    pub fn month_day(&self, days: i64) -> String {
        let (_, m, d) = time::civil_from_days(days);
        let f = &self.format;
        fill(
            &f.month_day,
            &[
                ("mon", &f.month_short[m as usize - 1]),
                ("d", &d.to_string()),
            ],
        )
    }

    /// "11am", "2:30pm".
    pub fn clock(&self, minute_of_day: u32) -> String {
        let h = minute_of_day / 60;
        let m = minute_of_day % 60;
        let suffix = if h < 12 {
            &self.format.am
        } else {
            &self.format.pm
        };
        let h12 = match h % 12 {
            0 => 12,
            x => x,
        };
        if m == 0 {
            format!("{h12}{suffix}")
        } else {
            format!("{h12}:{m:02}{suffix}")
        }
    }

    /// "Sat Nov 28, 11am".
    pub fn slot(&self, days: i64, minute: u32) -> String {
        format!("{}, {}", self.date(days), self.clock(minute))
    }

    /// A moment as people say it relative to now: "today at 3pm", "tomorrow at 10am",
    /// else "Sat Nov 28 at 11am" — used for ETAs.
    pub fn when(&self, zone: Zone, now_ms: u64, at_ms: u64, at_word: &str) -> String {
        let today = zone.to_local(now_ms).days;
        let local = zone.to_local(at_ms);
        let day = if local.days == today {
            self.format.today.clone()
        } else if local.days == today + 1 {
            self.format.tomorrow.clone()
        } else {
            self.date(local.days)
        };
        format!("{day} {at_word} {}", self.clock(local.minute))
    }

    pub fn weekday_short(&self, wd: u32) -> &str {
        &self.format.weekday_short[wd as usize % 7]
    }

    pub fn weekday_long(&self, wd: u32) -> &str {
        &self.format.weekday_long[wd as usize % 7]
    }

    /// "a, b and c".
    pub fn join_and<S: AsRef<str>>(&self, items: &[S]) -> String {
        join(items, &self.format.and)
    }

    /// "a, b or c".
    pub fn join_or<S: AsRef<str>>(&self, items: &[S]) -> String {
        join(items, &self.format.or)
    }
}

fn join<S: AsRef<str>>(items: &[S], word: &str) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].as_ref().to_owned(),
        n => {
            let head: Vec<&str> = items[..n - 1].iter().map(AsRef::as_ref).collect();
            format!("{} {word} {}", head.join(", "), items[n - 1].as_ref())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const PACK_EN: &str =
        r#"{"code": "en", "templates": {"hi": ["Hi {name}!", "Hello {name}!"], "bye": ["Bye."]}}"#;
    const PACK_ES: &str =
        r#"{"code": "es", "templates": {"hi": ["Hola {name}!"], "bye": ["Adios."]}}"#;

    pub(crate) fn languages() -> Languages {
        Languages::build(SDK_LEXICONS, &[PACK_EN, PACK_ES], &[]).unwrap()
    }

    pub(crate) fn lexicon() -> Lexicon {
        languages().lex
    }

    #[test]
    fn renders_variants_with_fallback() {
        let l = languages();
        assert_eq!(l.render("en", "hi", 0, &[("name", "Ana")]), "Hi Ana!");
        assert_eq!(l.render("en", "hi", 1, &[("name", "Ana")]), "Hello Ana!");
        assert_eq!(l.render("es", "hi", 7, &[("name", "Ana")]), "Hola Ana!");
        assert_eq!(l.render("fr", "bye", 0, &[]), "Bye.");
        assert_eq!(l.variants("en", "hi"), 2);
    }

    #[test]
    fn packs_must_cover_the_default_templates() {
        let bad_es = r#"{"code": "es", "templates": {"hi": ["Hola!"]}}"#;
        let err = Languages::build(SDK_LEXICONS, &[PACK_EN, bad_es], &[]).unwrap_err();
        assert!(err.contains("es: template `bye` is missing"), "{err}");
        let typo = r#"{"code": "es", "templates": {"hi": ["Hola {nmae}!"], "bye": ["Adios."]}}"#;
        let err = Languages::build(SDK_LEXICONS, &[PACK_EN, typo], &[]).unwrap_err();
        assert!(
            err.contains("es: template `hi` variant 0 uses [\"nmae\"]"),
            "{err}"
        );
        let typo = r#"{"code": "en", "templatez": {}}"#;
        let err = Languages::build(SDK_LEXICONS, &[typo], &[]).unwrap_err();
        assert!(err.contains("unknown field `templatez`"), "{err}");
    }

    #[test]
    fn rebuild_skips_only_the_template_check() {
        let bad_es = r#"{"code": "es", "templates": {"hi": ["Hola!"]}}"#;
        assert!(Languages::build(SDK_LEXICONS, &[PACK_EN, bad_es], &[]).is_err());
        let l = Languages::rebuild(SDK_LEXICONS, &[PACK_EN, bad_es], &[]).unwrap();
        assert_eq!(l.render("es", "bye", 0, &[]), "Bye.");
        // Everything else is still refused.
        let orphan = r#"{"code": "fr", "templates": {"hi": ["Salut!"], "bye": ["Salut."]}}"#;
        let err = Languages::rebuild(SDK_LEXICONS, &[PACK_EN, orphan], &[]).unwrap_err();
        assert!(err.contains("pack `fr` has no lexicon"), "{err}");
        // The built-in documents are borrowed, not copied.
        let built = languages();
        let phrase = &built.lex.cues("money")[0];
        assert!(
            SDK_LEXICONS
                .iter()
                .any(|doc| doc.as_bytes().as_ptr_range().contains(&phrase.as_ptr()))
        );
    }

    #[test]
    fn a_third_language_is_data() {
        let mut lexicon: LexiconDoc = serde_json::from_str(SDK_LEXICONS[0]).unwrap();
        lexicon.code = "pl".into();
        lexicon.name = "Polski".into();
        lexicon.detect = vec!["dzien".into(), "dobry".into(), "mieszkanie".into()];
        lexicon.select = vec!["po polsku".into()];
        let pack: PackDoc = serde_json::from_str(
            r#"{"code": "pl", "templates": {"hi": ["Czesc {name}!"], "bye": ["Do widzenia."]}}"#,
        )
        .unwrap();
        let l = Languages::build(
            SDK_LEXICONS,
            &[PACK_EN, PACK_ES],
            &[ExtraLanguage { lexicon, pack }],
        )
        .unwrap();
        let n = Norm::new("dzien dobry, mieszkanie?", Some(&l.lex));
        assert_eq!(l.detect(&n, None), "pl");
        assert_eq!(l.render("pl", "hi", 0, &[("name", "Ola")]), "Czesc Ola!");
    }

    #[test]
    fn a_language_from_config_owns_its_text_and_names_a_bad_field() {
        let mut lexicon: serde_json::Value = serde_json::from_str(SDK_LEXICONS[0]).unwrap();
        lexicon["code"] = "pl".into();
        lexicon["detect"] = serde_json::json!(["dzien", "dobry", "mieszkanie"]);
        // The config's text is gone once parsed: the extra language must not borrow it.
        let extra: Vec<ExtraLanguage> = {
            let pack = r#"{"code": "pl", "templates": {"hi": ["Czesc {name}!"], "bye": ["Pa."]}}"#;
            let text = format!(r#"[{{"lexicon": {lexicon}, "pack": {pack}}}]"#);
            crate::config::parse_str(&text).unwrap()
        };
        let l = Languages::build(SDK_LEXICONS, &[PACK_EN, PACK_ES], &extra).unwrap();
        let n = Norm::new("dzien dobry, mieszkanie?", Some(&l.lex));
        assert_eq!(l.detect(&n, None), "pl");
        assert_eq!(l.render("pl", "hi", 0, &[("name", "Ola")]), "Czesc Ola!");

        let typo =
            format!(r#"[{{"lexicon": {lexicon}, "pack": {{"code": "pl", "templatez": {{}}}}}}]"#);
        let err = crate::config::parse_str::<Vec<ExtraLanguage>>(&typo).unwrap_err();
        assert!(err.starts_with("[0].pack"), "{err}");
        assert!(err.contains("unknown field `templatez`"), "{err}");
        let stray = format!(r#"[{{"lexicon": {lexicon}, "pack": {PACK_ES}, "extra": 1}}]"#);
        let err = crate::config::parse_str::<Vec<ExtraLanguage>>(&stray).unwrap_err();
        assert!(err.contains("unknown field `extra`"), "{err}");
    }

    #[test]
    fn detection_is_sticky_and_honours_requests() {
        let l = languages();
        let d = |s: &str, cur: Option<&str>| l.detect(&Norm::new(s, Some(&l.lex)), cur);
        assert_eq!(d("hola, cuanto cuesta el apartamento?", None), "es");
        assert_eq!(d("no hablo ingles", Some("en")), "es");
        assert_eq!(d("I don't speak English", Some("en")), "es");
        assert_eq!(d("can you text me in english please", Some("es")), "en");
        assert_eq!(d("ok", Some("es")), "es");
        assert_eq!(d("gracias", Some("en")), "es");
        assert_eq!(d("is the 2br still available?", Some("es")), "en");
        assert_eq!(d("2br", Some("es")), "es");
        assert_eq!(d("hey is the 2br on jeffery still avail??", None), "en");
    }

    #[test]
    fn dates_and_clocks_per_language() {
        let l = languages();
        let day = crate::time::days_from_civil(2026, 11, 28);
        assert_eq!(l.get("en").slot(day, 11 * 60), "Sat Nov 28, 11am");
        assert_eq!(l.get("es").slot(day, 14 * 60 + 30), "sáb 28 nov, 2:30pm");
        assert_eq!(l.get("en").join_and(&["a", "b", "c"]), "a, b and c");
        assert_eq!(l.get("es").join_or(&["a", "b"]), "a o b");
    }
}
