//! Charts for teaching (work in progress).
