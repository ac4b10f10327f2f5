//! The book's figures (work in progress).
