//! Attribute and derive macros for pyhost (work in progress).
