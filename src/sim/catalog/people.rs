//! Names, designers and languages the scenario draws from.

pub static FIRST_NAMES: &[&str] = &[
    "Amara", "Lucas", "Sofia", "Mateo", "Chloé", "Yuki", "Ines", "Omar", "Giulia", "Noah", "Léa",
    "Kenji", "Aisha", "Marco", "Elena", "Hugo", "Zara", "Luca", "Maya", "Felix", "Nadia", "Theo",
    "Camille", "Rafael", "Ingrid", "Kofi", "Anya", "Diego", "Sana", "Jules",
];
pub static LAST_NAMES: &[&str] = &[
    "Dubois", "Rossi", "Okafor", "Tanaka", "García", "Müller", "Haddad", "Laurent", "Bianchi",
    "Nakamura", "Silva", "Moreau", "Kowalski", "Fontaine", "Ricci", "Mensah", "Petit", "Sato",
    "Romano", "Lefebvre", "Costa", "Ivanova", "Bernard", "Conti", "Diallo",
];
pub static DESIGNERS: &[(&str, &str)] = &[
    ("Maison Lumière", "luxury"),
    ("Atelier Noir", "haute_couture"),
    ("Vestiaire Rouge", "established"),
    ("Studio Kairo", "emerging"),
    ("Casa Verde", "established"),
    ("Oriel & Finch", "emerging"),
    ("Hanae Ito", "luxury"),
];
pub static LANGUAGES: &[(&str, u32)] = &[
    ("en", 40),
    ("fr", 30),
    ("it", 10),
    ("es", 8),
    ("ja", 6),
    ("ar", 6),
];
