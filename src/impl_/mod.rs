//! Runtime support for the code `pyhost-macros` generates. Not a public API: its items may
//! change in any release.
