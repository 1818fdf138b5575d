//! Empty: only its dependency graph matters.
