//! The one place the plugin world's Rust bindings are generated.
//!
//! Every import is `async` (a plugin waiting on storage or an LLM yields its thread) and
//! `trappable` (the host can end an invocation that breaks a rule, e.g. floods effects).

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../../wit/plugin-0.1.0",
    imports: { default: async | trappable },
    exports: { default: async },
});
