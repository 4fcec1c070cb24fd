//! Comparing a system of the data map with the live database (`ombud datamap check`).

use std::fmt;

use ombud_domain::datamap::{DataMap, MappedSystem, Strategy};

use crate::introspect::{LiveSchema, LiveTable};

/// A broad column type, so that `varchar(40)` in the map matches `character varying(40)` or
/// `NVARCHAR(40)` in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeFamily {
    Text,
    Integer,
    Decimal,
    Float,
    Boolean,
    Date,
    Timestamp,
    Bytes,
    /// Any other type, lowercased with spaces collapsed, compared as it is.
    Other(String),
}

impl fmt::Display for TypeFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TypeFamily::Text => "text",
            TypeFamily::Integer => "integer",
            TypeFamily::Decimal => "decimal",
            TypeFamily::Float => "float",
            TypeFamily::Boolean => "boolean",
            TypeFamily::Date => "date",
            TypeFamily::Timestamp => "timestamp",
            TypeFamily::Bytes => "bytes",
            TypeFamily::Other(s) => s,
        })
    }
}

/// The family of a declared type, in any dialect's spelling.
pub fn type_family(declared: &str) -> TypeFamily {
    let lower = declared
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    // tinyint(1) is MySQL's boolean; decide before the size goes.
    if lower == "tinyint(1)" || lower == "bit(1)" {
        return TypeFamily::Boolean;
    }
    let base: String = {
        let without_size = match (lower.find('('), lower.rfind(')')) {
            (Some(open), Some(close)) if close > open => {
                format!("{}{}", &lower[..open], &lower[close + 1..])
            }
            _ => lower.clone(),
        };
        without_size
            .split_whitespace()
            .filter(|w| !matches!(*w, "unsigned" | "signed" | "zerofill"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match base.as_str() {
        "text"
        | "varchar"
        | "character varying"
        | "char"
        | "character"
        | "nvarchar"
        | "nchar"
        | "national character varying"
        | "national character"
        | "varying character"
        | "native character"
        | "nvarchar2"
        | "varchar2"
        | "clob"
        | "tinytext"
        | "mediumtext"
        | "longtext"
        | "bpchar"
        | "citext"
        | "string"
        | "ntext" => TypeFamily::Text,
        "int" | "integer" | "bigint" | "smallint" | "mediumint" | "tinyint" | "int2" | "int4"
        | "int8" | "serial" | "bigserial" | "smallserial" | "serial4" | "serial8"
        | "unsigned big int" | "big int" => TypeFamily::Integer,
        "numeric" | "decimal" | "number" | "dec" | "fixed" => TypeFamily::Decimal,
        "real" | "double" | "double precision" | "float" | "float4" | "float8" => TypeFamily::Float,
        "bool" | "boolean" => TypeFamily::Boolean,
        "date" => TypeFamily::Date,
        "timestamp"
        | "datetime"
        | "timestamptz"
        | "timestamp without time zone"
        | "timestamp with time zone"
        | "datetime2"
        | "smalldatetime"
        | "datetimeoffset" => TypeFamily::Timestamp,
        "blob" | "bytea" | "binary" | "varbinary" | "tinyblob" | "mediumblob" | "longblob"
        | "image" => TypeFamily::Bytes,
        _ => TypeFamily::Other(lower),
    }
}

/// One way the data map and the live database disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    MissingTable {
        table: String,
        /// A table whose name differs only in case.
        did_you_mean: Option<String>,
    },
    MissingColumn {
        table: String,
        column: String,
        did_you_mean: Option<String>,
    },
    TypeDiffers {
        table: String,
        column: String,
        /// As the map declares it.
        expected: String,
        /// As the database reports it.
        actual: String,
    },
    PrimaryKeyDiffers {
        table: String,
        /// The map's primary-key fields, in declaration order.
        expected: Vec<String>,
        /// The database's, in key order.
        actual: Vec<String>,
    },
    /// Erasure would write NULL into a column that refuses it; the erasure would fail (and
    /// roll back) until the map gives the field another strategy.
    ErasesIntoNotNull { table: String, column: String },
}

fn list(columns: &[String]) -> String {
    if columns.is_empty() {
        "none".to_owned()
    } else {
        columns
            .iter()
            .map(|c| format!("{c:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn hint(did_you_mean: &Option<String>) -> String {
    did_you_mean
        .as_ref()
        .map(|s| format!(" (did you mean {s:?}? names are compared exactly)"))
        .unwrap_or_default()
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::MissingTable {
                table,
                did_you_mean,
            } => write!(
                f,
                "table {table:?} is not in the database{}",
                hint(did_you_mean)
            ),
            Mismatch::MissingColumn {
                table,
                column,
                did_you_mean,
            } => write!(
                f,
                "table {table:?} has no column {column:?}{}",
                hint(did_you_mean)
            ),
            Mismatch::TypeDiffers {
                table,
                column,
                expected,
                actual,
            } => write!(
                f,
                "column {column:?} of table {table:?} is {actual} ({}) in the database, but the map says {expected} ({})",
                type_family(actual),
                type_family(expected)
            ),
            Mismatch::PrimaryKeyDiffers {
                table,
                expected,
                actual,
            } => write!(
                f,
                "table {table:?} has primary key {} in the database, but the map marks {}",
                list(actual),
                list(expected)
            ),
            Mismatch::ErasesIntoNotNull { table, column } => write!(
                f,
                "column {column:?} of table {table:?} is NOT NULL, but erasure would set it to NULL: give the field `erase:` (fixed text, hash, random or delete_row) or its category a rule under `erasure: by_category`"
            ),
        }
    }
}

fn case_match<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .filter(|c| *c != name && c.to_lowercase() == lower)
        .map(str::to_owned)
        .next()
}

/// Where the map `system` and the database `live` disagree: tables and columns the map names
/// that the database lacks (names compared exactly), column types of another family, and
/// primary keys that differ. An empty list means the map fits.
pub fn check(system: &MappedSystem, live: &LiveSchema) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for collection in &system.collections {
        let same_schema = match &collection.schema {
            None => true,
            Some(s) => *s == live.schema,
        };
        let table: Option<&LiveTable> = same_schema.then(|| live.table(&collection.name)).flatten();
        let Some(table) = table else {
            let did_you_mean = if same_schema {
                case_match(
                    &collection.name,
                    live.tables.iter().map(|t| t.name.as_str()),
                )
            } else {
                None
            };
            let name = match &collection.schema {
                Some(s) if !same_schema => format!("{s}.{}", collection.name),
                _ => collection.name.clone(),
            };
            out.push(Mismatch::MissingTable {
                table: name,
                did_you_mean,
            });
            continue;
        };
        for field in &collection.fields {
            let Some(column) = table.column(&field.name) else {
                out.push(Mismatch::MissingColumn {
                    table: table.name.clone(),
                    column: field.name.clone(),
                    did_you_mean: case_match(
                        &field.name,
                        table.columns.iter().map(|c| c.name.as_str()),
                    ),
                });
                continue;
            };
            if let Some(expected) = &field.data_type
                && type_family(expected) != type_family(&column.data_type)
            {
                out.push(Mismatch::TypeDiffers {
                    table: table.name.clone(),
                    column: field.name.clone(),
                    expected: expected.clone(),
                    actual: column.data_type.clone(),
                });
            }
        }
        let mut expected: Vec<String> = collection.primary_key().map(|f| f.name.clone()).collect();
        let mut actual = table.primary_key.clone();
        let (shown_expected, shown_actual) = (expected.clone(), actual.clone());
        expected.sort();
        actual.sort();
        if expected != actual {
            out.push(Mismatch::PrimaryKeyDiffers {
                table: table.name.clone(),
                expected: shown_expected,
                actual: shown_actual,
            });
        }
    }
    out
}

/// Columns that erasure would set to NULL although the database refuses NULL there. `map` is
/// the whole data map (references decide which fields are links and stay), `system` the part
/// of it whose collections live in `live`'s schema.
pub fn erasure_conflicts(map: &DataMap, system: &MappedSystem, live: &LiveSchema) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for collection in &system.collections {
        let Some(table) = live.table(&collection.name) else {
            continue;
        };
        for (i, strategy) in map.erasure_of(&system.system, collection).fields {
            let field = &collection.fields[i];
            if strategy == Strategy::Null && table.column(&field.name).is_some_and(|c| !c.nullable)
            {
                out.push(Mismatch::ErasesIntoNotNull {
                    table: collection.name.clone(),
                    column: field.name.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_families() {
        use TypeFamily::*;
        let cases = [
            ("character varying(40)", Text),
            ("NVARCHAR(40)", Text),
            ("varchar(40)", Text),
            ("text", Text),
            ("bpchar", Text),
            ("INTEGER", Integer),
            ("int(11)", Integer),
            ("bigint unsigned", Integer),
            ("serial", Integer),
            ("numeric(10,2)", Decimal),
            ("DECIMAL(10,2)", Decimal),
            ("double precision", Float),
            ("real", Float),
            ("tinyint(1)", Boolean),
            ("boolean", Boolean),
            ("date", Date),
            ("DATETIME", Timestamp),
            ("timestamp without time zone", Timestamp),
            ("timestamp(3) with time zone", Timestamp),
            ("bytea", Bytes),
            ("BLOB", Bytes),
            ("uuid", Other("uuid".into())),
            ("JSONB", Other("jsonb".into())),
        ];
        for (declared, family) in cases {
            assert_eq!(type_family(declared), family, "{declared}");
        }
    }
}
