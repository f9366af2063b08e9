//! Build-time set-up.

fn main() {
    // Rebuild when a migration changes: they are embedded in the binary.
    println!("cargo:rerun-if-changed=migrations");
    // Tell utoipa's derives that `Id` (src/id.rs) is a UUID, so that every id
    // field is `{"type": "string", "format": "uuid"}` in the OpenAPI document.
    utoipa_config::Config::new().alias_for("Id", "uuid::Uuid").write_to_file();
}
