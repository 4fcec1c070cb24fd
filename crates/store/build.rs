//! `sqlx::migrate!` embeds the migration files at compile time, but the compiler only knows to
//! rebuild when Rust sources change. This makes adding a migration file trigger a rebuild too.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
