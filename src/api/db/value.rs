//! Values in and out of either backend: the typed bind [`Val`] and the row [`DbRow`], read
//! back into the same Rust types whichever backend stored them (Postgres: native
//! uuid/timestamptz/jsonb; SQLite: TEXT).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value as Json;
use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

/// A bind value, typed by meaning rather than by backend.
#[derive(Debug, Clone)]
pub enum Val {
    Null,
    I64(i64),
    F64(f64),
    Bool(bool),
    Text(String),
    Ts(DateTime<Utc>),
    Date(NaiveDate),
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    OptTs(Option<DateTime<Utc>>),
    OptText(Option<String>),
    OptI64(Option<i64>),
    Json(Json),
}

impl From<&str> for Val {
    fn from(s: &str) -> Self {
        Val::Text(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Self {
        Val::Text(s)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::I64(v)
    }
}
impl From<Uuid> for Val {
    fn from(v: Uuid) -> Self {
        Val::Uuid(v)
    }
}
impl From<DateTime<Utc>> for Val {
    fn from(v: DateTime<Utc>) -> Self {
        Val::Ts(v)
    }
}

/// The SQLite text form of a timestamp: fixed width so that text order is time order, and the
/// same form as the migrations' DEFAULT expression.
pub fn sqlite_ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// A row from either backend.
pub enum DbRow {
    Pg(PgRow),
    Sqlite(SqliteRow),
}

macro_rules! try_types {
    ($row:expr, $col:expr, $( $t:ty => $conv:expr ),+ ) => {{
        let mut out = None;
        $(
            if out.is_none() {
                if let Ok(v) = $row.try_get::<Option<$t>, _>($col) {
                    out = Some(v.and_then($conv));
                }
            }
        )+
        out.flatten()
    }};
}

impl DbRow {
    /// Text, or any value rendered as text (uuid, number). Unknown enum text stays text.
    pub fn text(&self, col: &str) -> Option<String> {
        match self {
            DbRow::Pg(r) => try_types!(r, col,
                String => Some,
                Uuid => |u: Uuid| Some(u.to_string()),
                i64 => |v: i64| Some(v.to_string()),
                i32 => |v: i32| Some(v.to_string())),
            DbRow::Sqlite(r) => try_types!(r, col,
                String => Some,
                i64 => |v: i64| Some(v.to_string()),
                f64 => |v: f64| Some(v.to_string())),
        }
    }

    /// Text that must be there; an absent value reads as the empty string.
    pub fn s(&self, col: &str) -> String {
        self.text(col).unwrap_or_default()
    }

    pub fn i64(&self, col: &str) -> Option<i64> {
        match self {
            DbRow::Pg(r) => try_types!(r, col,
                i64 => Some, i32 => |v: i32| Some(v as i64), i16 => |v: i16| Some(v as i64),
                f64 => |v: f64| Some(v.round() as i64)),
            DbRow::Sqlite(r) => {
                try_types!(r, col, i64 => Some, f64 => |v: f64| Some(v.round() as i64))
            }
        }
    }

    pub fn n(&self, col: &str) -> i64 {
        self.i64(col).unwrap_or(0)
    }

    pub fn f64(&self, col: &str) -> Option<f64> {
        match self {
            DbRow::Pg(r) => try_types!(r, col,
                f64 => Some, f32 => |v: f32| Some(v as f64), i64 => |v: i64| Some(v as f64),
                i32 => |v: i32| Some(v as f64)),
            DbRow::Sqlite(r) => try_types!(r, col, f64 => Some, i64 => |v: i64| Some(v as f64)),
        }
    }

    pub fn bool(&self, col: &str) -> Option<bool> {
        match self {
            DbRow::Pg(r) => try_types!(r, col, bool => Some),
            DbRow::Sqlite(r) => try_types!(r, col, i64 => |v: i64| Some(v != 0)),
        }
    }

    pub fn uuid(&self, col: &str) -> Option<Uuid> {
        match self {
            DbRow::Pg(r) => try_types!(r, col,
                Uuid => Some, String => |s: String| Uuid::parse_str(&s).ok()),
            DbRow::Sqlite(r) => try_types!(r, col, String => |s: String| Uuid::parse_str(&s).ok()),
        }
    }

    /// A uuid that must be there (primary keys); nil if absent.
    pub fn id(&self, col: &str) -> Uuid {
        self.uuid(col).unwrap_or_default()
    }

    pub fn ts(&self, col: &str) -> Option<DateTime<Utc>> {
        match self {
            DbRow::Pg(r) => try_types!(r, col,
                DateTime<Utc> => Some,
                NaiveDateTime => |t: NaiveDateTime| Some(t.and_utc())),
            DbRow::Sqlite(r) => try_types!(r, col, String => |s: String| parse_ts(&s)),
        }
    }

    pub fn date(&self, col: &str) -> Option<NaiveDate> {
        match self {
            DbRow::Pg(r) => try_types!(r, col, NaiveDate => Some),
            DbRow::Sqlite(r) => try_types!(r, col,
                String => |s: String| NaiveDate::parse_from_str(s.get(..10).unwrap_or(&s), "%Y-%m-%d").ok()),
        }
    }

    pub fn json(&self, col: &str) -> Option<Json> {
        match self {
            DbRow::Pg(r) => try_types!(r, col, Json => Some),
            DbRow::Sqlite(r) => try_types!(r, col,
                String => |s: String| Some(serde_json::from_str(&s).unwrap_or(Json::String(s)))),
        }
    }
}
