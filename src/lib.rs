//! Baton's core: the HL7 v2 model, profiles, mapping, replay, diff and
//! receipts, with no GUI. The `baton` binary's CLI and GUI are thin layers
//! over this library.
//!
//! Replay one scenario of the bundled workspace headless:
//!
//! ```
//! use baton::{replay, workspace::Workspace};
//! let ws = Workspace::load(std::path::Path::new("test-scenarios/lab-orders-results")).unwrap();
//! let result = replay::replay_scenario(&ws, &ws.scenarios[0]);
//! assert_eq!(result.verdict, replay::Verdict::Met);
//! for field in &result.replay.fields {
//!     println!("{} {:?}", field.path, field.outcome.kind());
//! }
//! ```

pub mod account;
pub mod ack;
pub mod condition;
pub mod conformance;
pub mod diff;
pub mod error;
pub mod finding;
pub mod gap;
pub mod generate;
pub mod hl7;
pub mod import;
pub mod inspect;
pub mod mapping;
pub mod mllp;
pub mod ordered;
pub mod profile;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod session;
pub mod signers;
pub mod table;
pub mod traffic;
pub mod validate;
pub mod workspace;

pub use error::LoadError;
pub use finding::{Finding, Severity, Side};
pub use replay::{Outcome, ScenarioResult, Verdict};
pub use workspace::Workspace;

/// mimalloc: replay, checks and the account allocate many small values per
/// field; glibc's allocator took about a quarter of a replay's time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Baton's version, recorded in reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "gui")]
pub mod gui;
