//! Tells utoipa's derives that `Id` (src/id.rs) is a UUID, so that every id
//! field is `{"type": "string", "format": "uuid"}` in the OpenAPI document.

fn main() {
    utoipa_config::Config::new().alias_for("Id", "uuid::Uuid").write_to_file();
    println!("cargo:rerun-if-changed=build.rs");
}
