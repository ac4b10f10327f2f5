//! The analytical checkpoint overhead model (work in progress).
