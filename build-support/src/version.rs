//! CPython version numbers.

use std::fmt;
use std::str::FromStr;

/// The oldest CPython minor version pyhost supports.
pub const MIN_MINOR: u8 = 8;
/// The newest CPython minor version pyhost has been tested with. Newer ones still build, with
/// the cfgs of this one and every older one.
pub const MAX_TESTED_MINOR: u8 = 15;
/// The highest minor version for which `py_3_N` cfgs are declared to `rustc-check-cfg`.
pub const MAX_DECLARED_MINOR: u8 = 30;

/// A CPython version: `3.11` or `3.11.7`.
///
/// ```
/// use pyhost_build::PythonVersion;
/// let v: PythonVersion = "3.11.7".parse().unwrap();
/// assert_eq!((v.major, v.minor, v.patch), (3, 11, Some(7)));
/// assert!(v.same_minor(&"3.11".parse().unwrap()));
/// assert_eq!(v.to_string(), "3.11.7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PythonVersion {
    /// The major version, 3.
    pub major: u8,
    /// The minor version: the ABI changes with it.
    pub minor: u8,
    /// The patch level, when the source knows it (pkg-config only gives `3.11`).
    pub patch: Option<u8>,
}

impl PythonVersion {
    /// `major.minor` without a patch level.
    pub const fn new(major: u8, minor: u8) -> Self {
        PythonVersion {
            major,
            minor,
            patch: None,
        }
    }

    /// Whether both name the same `major.minor` (the same ABI).
    pub fn same_minor(&self, other: &PythonVersion) -> bool {
        self.major == other.major && self.minor == other.minor
    }

    /// `"3.11"`.
    pub fn short(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{}", self.major, self.minor, p),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

impl FromStr for PythonVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let mut parts = s.split('.');
        let bad = || format!("`{s}` is not a Python version like 3.11 or 3.11.7");
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let patch = match parts.next() {
            None => None,
            // "3.13.0rc1", "3.12.0+": keep the leading digits.
            Some(p) => {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                Some(digits.parse().map_err(|_| bad())?)
            }
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(PythonVersion {
            major,
            minor,
            patch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_short_long_and_prerelease_versions() {
        assert_eq!(
            "3.8".parse::<PythonVersion>().unwrap(),
            PythonVersion::new(3, 8)
        );
        let v: PythonVersion = "3.13.0rc1".parse().unwrap();
        assert_eq!(v.patch, Some(0));
        assert!("3".parse::<PythonVersion>().is_err());
        assert!("three.eleven".parse::<PythonVersion>().is_err());
        assert!("3.11.2.1".parse::<PythonVersion>().is_err());
    }
}
