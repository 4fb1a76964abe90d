//! Store names, slugs and namespaces. A namespace is `store-<slug>`, a valid
//! DNS-1123 label (at most 63 characters); a collision gets a short suffix.

use std::fmt;

pub const NAMESPACE_PREFIX: &str = "store-";
pub const MAX_NAME_CHARS: usize = 60;
/// Room left for `-xxxx` so a suffixed namespace still fits in 63 characters.
const MAX_SLUG_CHARS: usize = 63 - NAMESPACE_PREFIX.len() - 5;
const MIN_SLUG_CHARS: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong {
        chars: usize,
        max: usize,
    },
    ControlCharacter,
    /// A bidirectional override/isolate, zero-width or other invisible
    /// formatting character, with its code point.
    InvisibleCharacter(char),
    NoUsableCharacters,
    TooShortSlug {
        slug: String,
    },
    Reserved {
        slug: String,
        what: String,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(
                f,
                "the store name is empty; give it a name such as \"Acme Shoes\""
            ),
            NameError::TooLong { chars, max } => write!(
                f,
                "the store name is {chars} characters long; use at most {max}"
            ),
            NameError::InvisibleCharacter(c) => write!(
                f,
                "the store name contains the invisible formatting character U+{:04X} (bidirectional, zero-width, a selector, filler or separator), which can make a name display as another; type the name as plain text",
                u32::from(*c)
            ),
            NameError::ControlCharacter => write!(
                f,
                "the store name contains a control character (tab, newline...); use plain text"
            ),
            NameError::NoUsableCharacters => write!(
                f,
                "the store name has no letters or digits (a-z, 0-9) to build its address from; include some"
            ),
            NameError::TooShortSlug { slug } => write!(
                f,
                "the store name gives the address \"{slug}\", which is too short; use at least {MIN_SLUG_CHARS} letters or digits"
            ),
            NameError::Reserved { slug, what } => write!(
                f,
                "the store name gives the address \"{slug}\", which is reserved ({what}); choose another name"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a display name and returns it trimmed. The same rules serve the
/// console form (as you type), the API and the command line.
pub fn validate_name(raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    // Control characters, and the invisible ones that can make a name
    // display as something else (see `is_invisible`).
    if name.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    if let Some(c) = name.chars().find(|c| is_invisible(*c)) {
        return Err(NameError::InvisibleCharacter(c));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong {
            chars,
            max: MAX_NAME_CHARS,
        });
    }
    let slug = slugify(name);
    if slug.is_empty() {
        return Err(NameError::NoUsableCharacters);
    }
    if slug.len() < MIN_SLUG_CHARS {
        return Err(NameError::TooShortSlug { slug });
    }
    Ok(name.to_string())
}

/// Characters that display as nothing (or as a line break), so that two
/// names that look the same differ: Unicode's Default_Ignorable_Code_Point
/// (DerivedCoreProperties.txt, Unicode 16: bidirectional controls, zero-width
/// characters, variation selectors, tag characters, Hangul fillers, the soft
/// hyphen...) and the line and paragraph separators (Zl, Zp).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Lower-case ASCII letters and digits, runs of anything else folded into a
/// single `-`, common accented letters mapped to their base letter.
pub fn slugify(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_dash = false;
    for c in name.chars() {
        let mapped = fold_accent(c.to_ascii_lowercase());
        match mapped {
            Some(m) if m.is_ascii_alphanumeric() => {
                if pending_dash && !out.is_empty() {
                    out.push('-');
                }
                pending_dash = false;
                out.push(m);
            }
            _ => pending_dash = true,
        }
        if out.len() >= MAX_SLUG_CHARS {
            break;
        }
    }
    out.truncate(MAX_SLUG_CHARS);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn fold_accent(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    let base = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        _ => return None,
    };
    Some(base)
}

/// Names no store may take: the platform's own namespace and host, the
/// cluster's system namespaces and configured slugs. A store on the
/// dashboard's host would receive its users' session cookies; a store on the
/// platform's namespace would let a tenant delete the platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reserved {
    namespaces: Vec<String>,
    /// (slug, why)
    slugs: Vec<(String, String)>,
}

impl Reserved {
    pub fn new(
        platform_namespace: &str,
        platform_host: Option<&str>,
        ingress_suffix: &str,
        slugs: &[String],
    ) -> Reserved {
        let mut out = Reserved {
            namespaces: vec![platform_namespace.to_ascii_lowercase()],
            slugs: slugs
                .iter()
                .map(|s| (s.to_ascii_lowercase(), "kept for the platform".to_string()))
                .collect(),
        };
        // The platform's host is `<slug><suffix>` when it sits under the
        // stores' suffix: that slug would give a store the same host.
        if let Some(host) = platform_host {
            let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
            let suffix = ingress_suffix.trim_start_matches('.').to_ascii_lowercase();
            if let Some(first) = host
                .strip_suffix(&suffix)
                .and_then(|h| h.strip_suffix('.'))
                .filter(|h| !h.is_empty() && !h.contains('.'))
            {
                out.slugs
                    .push((first.to_string(), format!("the platform's own host {host}")));
            }
        }
        out
    }

    /// Refuses a (validated) name whose namespace or host is reserved.
    pub fn check(&self, name: &str) -> Result<(), NameError> {
        let slug = slugify(name);
        let ns = namespace_for(name);
        let reserved_ns = ns == "default"
            || ns.starts_with("kube-")
            || ns.starts_with("openshift-")
            || self.namespaces.contains(&ns);
        if reserved_ns {
            return Err(NameError::Reserved {
                slug,
                what: format!("its namespace {ns} belongs to the platform or the cluster"),
            });
        }
        if let Some((_, why)) = self.slugs.iter().find(|(s, _)| *s == slug) {
            return Err(NameError::Reserved {
                slug,
                what: why.clone(),
            });
        }
        Ok(())
    }
}

/// The namespace for a (validated) store name.
pub fn namespace_for(name: &str) -> String {
    format!("{NAMESPACE_PREFIX}{}", slugify(name))
}

/// The namespace with a collision suffix (4 lower-case hex characters).
pub fn with_suffix(namespace: &str, suffix: u16) -> String {
    format!("{namespace}-{suffix:04x}")
}

/// Owners are user ids or emails: printable, no spaces, bounded.
pub fn validate_owner(raw: &str) -> Result<String, String> {
    let owner = raw.trim();
    if owner.is_empty() {
        return Err("the owner is empty; give a user id or an email address".into());
    }
    if owner.chars().count() > 254 {
        return Err("the owner is longer than 254 characters".into());
    }
    if owner.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(
            "the owner contains spaces or control characters; use a user id or an email address"
                .into(),
        );
    }
    Ok(owner.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_dns1123_label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[test]
    fn slugs_fold_case_spaces_punctuation_and_accents() {
        assert_eq!(slugify("Acme Shoes"), "acme-shoes");
        assert_eq!(slugify("  --Café   Crème!! "), "cafe-creme");
        assert_eq!(slugify("Über_Store 2"), "uber-store-2");
        assert_eq!(slugify("店"), "");
    }

    #[test]
    fn validation_messages_say_what_is_wrong() {
        assert_eq!(validate_name("   "), Err(NameError::Empty));
        assert!(matches!(
            validate_name(&"a".repeat(61)),
            Err(NameError::TooLong { chars: 61, max: 60 })
        ));
        assert_eq!(validate_name("!!!"), Err(NameError::NoUsableCharacters));
        assert_eq!(validate_name("店舗"), Err(NameError::NoUsableCharacters));
        assert!(matches!(
            validate_name("a!"),
            Err(NameError::TooShortSlug { .. })
        ));
        assert_eq!(validate_name("a\nb"), Err(NameError::ControlCharacter));
        let e = validate_name("Shop\u{202E}gnp.exe").unwrap_err();
        assert_eq!(e, NameError::InvisibleCharacter('\u{202E}'));
        assert!(e.to_string().contains("U+202E"), "{e}");
        assert_eq!(validate_name("  Acme  "), Ok("Acme".to_string()));
        assert!(NameError::Empty.to_string().contains("empty"));
    }

    /// Issue 27 (16): every Default_Ignorable_Code_Point (Unicode's list of
    /// characters that display as nothing) and the line and paragraph
    /// separators are refused, each named by its code point.
    #[test]
    fn invisible_and_separator_characters_are_refused() {
        for c in [
            '\u{00AD}',
            '\u{034F}',
            '\u{061C}',
            '\u{115F}',
            '\u{1160}',
            '\u{17B4}',
            '\u{180B}',
            '\u{180E}',
            '\u{200B}',
            '\u{2028}',
            '\u{2029}',
            '\u{2064}',
            '\u{3164}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{FFA0}',
            '\u{FFF0}',
            '\u{1BCA0}',
            '\u{1D173}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{E0100}',
            '\u{E0FFF}',
        ] {
            let name = format!("Shop{c}Name");
            assert_eq!(
                validate_name(&name),
                Err(NameError::InvisibleCharacter(c)),
                "U+{:04X}",
                u32::from(c)
            );
        }
        // Visible neighbours of those ranges stay allowed.
        for ok in ["Café ☕ Shop", "Shop ❤ Store", "Ümlaut Shop", "Shop-Name"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn every_valid_name_gives_a_dns_label_even_with_a_suffix() {
        let long = "x".repeat(60);
        let names = [
            "Acme",
            "a b c d e f",
            long.as_str(),
            "Ünïcødé Shop 99",
            "9lives",
        ];
        for name in names {
            validate_name(name).unwrap();
            let ns = namespace_for(name);
            assert!(is_dns1123_label(&ns), "{ns}");
            let suffixed = with_suffix(&ns, 0xbeef);
            assert!(is_dns1123_label(&suffixed), "{suffixed}");
        }
    }

    #[test]
    fn reserved_namespaces_and_hosts_are_refused() {
        let slugs: Vec<String> = ["admin", "api", "www", "dashboard", "store-weaver"]
            .map(String::from)
            .into();
        let r = Reserved::new(
            "store-weaver-system",
            Some("shops-admin.shops.example.com"),
            ".shops.example.com",
            &slugs,
        );
        // The platform's own namespace, spelled as a store name.
        let e = r.check("Weaver System").unwrap_err();
        assert!(e.to_string().contains("store-weaver-system"), "{e}");
        // Configured slugs, however they are written.
        for name in [
            "Admin",
            "API",
            "www",
            "Dashboard",
            "Store Weaver",
            "store_weaver!",
        ] {
            assert!(
                matches!(r.check(name), Err(NameError::Reserved { .. })),
                "{name} should be reserved"
            );
        }
        // The platform's host under the stores' suffix.
        let e = r.check("Shops Admin").unwrap_err();
        assert!(e.to_string().contains("platform's own host"), "{e}");
        // Ordinary names, and names that merely start like a reserved one.
        for name in ["Acme", "Administration Supplies", "Weaver", "API Shop"] {
            assert_eq!(r.check(name), Ok(()), "{name}");
        }
        // A platform host outside the stores' suffix reserves no slug.
        let r = Reserved::new("sw", Some("admin.other.org"), ".localhost", &[]);
        assert_eq!(r.check("Admin"), Ok(()));
    }

    #[test]
    fn owners_are_normalised_and_checked() {
        assert_eq!(
            validate_owner(" Ann@Example.com "),
            Ok("ann@example.com".into())
        );
        assert!(validate_owner("").is_err());
        assert!(validate_owner("a b").is_err());
    }
}
