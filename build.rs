// sqlx::migrate! embeds the migrations at build time: a migration added to the directory must
// rebuild the crate (sqlx's documented build script).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
