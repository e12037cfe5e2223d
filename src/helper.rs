//! Python helpers of pyhost's own: a few functions written in Python, run once per
//! interpreter into a namespace of their own and looked up by name.

use crate::raw::interp::PerInterp;
use crate::types::{Any, Dict};
use crate::{Error, Object, Python, Result};

/// A piece of Python source defining functions, run on first use in each interpreter.
pub(crate) struct Helper {
    source: &'static str,
    namespace: PerInterp<Dict>,
}

impl Helper {
    pub(crate) const fn new(source: &'static str) -> Helper {
        Helper {
            source,
            namespace: PerInterp::new(),
        }
    }

    /// The function (or value) `name` the source defines, in `py`'s interpreter.
    pub(crate) fn get<'py>(&self, py: Python<'py>, name: &str) -> Result<Object<'py, Any>> {
        let ns = self.namespace.get_or_try_init(py, || {
            let ns = Dict::new(py);
            py.exec_with(self.source, &ns, None)?;
            Ok(ns)
        })?;
        ns.get_item(name)?
            .ok_or_else(|| Error::runtime_error(format!("pyhost's Python helper has no `{name}`")))
    }
}
