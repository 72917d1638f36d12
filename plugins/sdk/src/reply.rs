//! Building a reply from template pieces in the lead's language ([`Say`]) and choosing
//! the text to send: the first rendering (seed 0, 1, 2... pick template variants) that
//! fits three segments and repeats no earlier reply; if every variant was used already,
//! a varying closing line (template `vary`, which every agent pack defines) is added.

use crate::compose::{self, Part, priority::SOCIAL};
use crate::lang::Languages;

/// A template (rendered per seed) or fixed text.
#[derive(Debug, Clone)]
enum Src {
    T(&'static str, Vec<(&'static str, String)>),
    Raw(String),
}

#[derive(Debug, Clone)]
struct Piece {
    forms: Vec<Src>,
    priority: u8,
    required: bool,
    /// Added to the seed: a question asked again starts from its other wording.
    shift: usize,
}

/// The pieces of one reply.
#[derive(Debug, Default, Clone)]
pub struct Say {
    pieces: Vec<Piece>,
    /// A piece already asks the lead something (which tour, which option): no other
    /// question is added.
    pub asks: bool,
}

/// Seeds tried for a fresh reply.
const TRIES: usize = 24;

impl Say {
    /// A required piece from template `id`.
    pub fn t(&mut self, id: &'static str, a: &[(&'static str, String)], priority: u8) -> &mut Self {
        self.pieces.push(Piece {
            forms: vec![Src::T(id, a.to_vec())],
            priority,
            required: true,
            shift: 0,
        });
        self
    }

    /// An optional piece (dropped first when the reply does not fit).
    pub fn opt(
        &mut self,
        id: &'static str,
        a: &[(&'static str, String)],
        priority: u8,
    ) -> &mut Self {
        self.pieces.push(Piece {
            forms: vec![Src::T(id, a.to_vec())],
            priority,
            required: false,
            shift: 0,
        });
        self
    }

    /// Fixed text (operator data such as a published policy).
    pub fn raw(&mut self, text: String, priority: u8, required: bool) -> &mut Self {
        if !text.trim().is_empty() {
            self.pieces.push(Piece {
                forms: vec![Src::Raw(text)],
                priority,
                required,
                shift: 0,
            });
        }
        self
    }

    /// A shorter form of the last piece, used when the reply does not fit.
    pub fn or_t(&mut self, id: &'static str, a: &[(&'static str, String)]) -> &mut Self {
        if let Some(p) = self.pieces.last_mut() {
            p.forms.push(Src::T(id, a.to_vec()));
        }
        self
    }

    /// The last piece in its next wording (a question asked again, said differently).
    pub fn again(&mut self) -> &mut Self {
        if let Some(p) = self.pieces.last_mut() {
            p.shift += 1;
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Moves every piece out (leaving this one empty).
    pub fn take(&mut self) -> Say {
        std::mem::take(self)
    }

    fn render(&self, langs: &Languages, lang: &str, seed: usize) -> Vec<Part> {
        self.pieces
            .iter()
            .map(|p| Part {
                forms: p
                    .forms
                    .iter()
                    .map(|f| match f {
                        Src::T(id, a) => {
                            let refs: Vec<(&str, &str)> =
                                a.iter().map(|(k, v)| (*k, v.as_str())).collect();
                            langs.render(lang, id, seed + p.shift, &refs)
                        }
                        Src::Raw(s) => s.clone(),
                    })
                    .collect(),
                priority: p.priority,
                required: p.required,
            })
            .collect()
    }

    /// The text to send in `lang`: fitting three segments and not a repeat of `earlier`
    /// (recent outbound messages) or of `fingerprints`; empty when there is nothing to say.
    pub fn compose(
        &self,
        langs: &Languages,
        lang: &str,
        earlier: &[String],
        fingerprints: &[u64],
    ) -> String {
        if self.is_empty() {
            return String::new();
        }
        let text = compose::first_fresh(TRIES, earlier, fingerprints, |seed| {
            self.render(langs, lang, seed)
        });
        if !compose::is_repeat(&text, earlier, fingerprints) {
            return text;
        }
        let mut more = self.clone();
        more.opt("vary", &[], SOCIAL);
        compose::first_fresh(TRIES * 4, earlier, fingerprints, |seed| {
            more.render(langs, lang, seed)
        })
    }
}
