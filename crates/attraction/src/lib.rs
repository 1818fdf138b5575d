//! Attribute actions and include/exclude matching, shared by the `attributes` and
//! `resource` processors (upstream's `internal/coreinternal/attraction` and
//! `internal/filter`).
//!
//! - [`ActionConfig`] is one configured action; [`Actions::compile`] checks a list of
//!   them (every problem at its key path, `actions[2]::value`) and compiles it once
//!   (regular expressions, values, context keys). [`Actions::apply`] then runs the
//!   list in order on an attribute list, allocating only where an action changes
//!   something.
//! - [`MatchProperties`] is one `include` or `exclude` block; [`Filter::new`] compiles
//!   the pair for one signal, and [`Filter::resource`] → [`AtResource::scope`] →
//!   [`AtScope::skip_span`] (or `skip_log`, `skip_metric`) tells whether an item is to
//!   be left alone, evaluating resource and scope properties once per group.
//! - [`Journal`] notes the [`Change`]s a processor makes on the way to the next
//!   consumer's `prepare`, and undoes them when the data is handed back.
//!
//! ```
//! use stratus_attraction::{ActionConfig, Actions};
//! use stratus_core::Metadata;
//! use stratus_core::pdata::common::KeyValue;
//!
//! let configs: Vec<ActionConfig> = serde_json::from_value(serde_json::json!([
//!     {"key": "env", "value": "prod", "action": "insert"},
//!     {"key": "user.email", "action": "hash"},
//! ]))
//! .unwrap();
//! let actions = Actions::compile("actions", &configs).unwrap();
//! let mut attrs: Vec<KeyValue> = Vec::new();
//! actions.apply(&mut attrs, &Metadata::default());
//! assert_eq!(attrs[0].key, "env");
//! ```
//!
//! Where upstream's code and its README disagree, or upstream has an evident slip,
//! this crate follows the README and says so in its own README ("Differences").

mod action;
mod hash;
mod journal;
mod matching;
pub mod value;

pub use action::{ActionConfig, Actions, Change};
pub use hash::{hash_value, hashed};
pub use journal::Journal;
pub use matching::{
    AtResource, AtScope, AttributeMatch, Filter, LibraryMatch, MatchProperties, RegexpOptions,
    SeverityLevel, SeverityNumberMatch,
};
