/* pyhost-sys: the header bindgen reads.
 *
 * It includes Python.h and declares, as functions, the parts of the C API that are macros
 * bindgen cannot see (Py_None, PyTuple_GET_ITEM, the type checks, ...). pyhost_shim.c defines
 * them with the real macros. The hot ones also have Rust versions in pyhost-sys (src/inline.rs);
 * these C versions are the reference the parity tests compare them with.
 */
#ifndef PYHOST_SHIM_H
#define PYHOST_SHIM_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>

/* Singletons. */
PyObject *pyhost_sys_shim_Py_None(void);
PyObject *pyhost_sys_shim_Py_True(void);
PyObject *pyhost_sys_shim_Py_False(void);
PyObject *pyhost_sys_shim_Py_NotImplemented(void);
PyObject *pyhost_sys_shim_Py_Ellipsis(void);

/* Reference counts and object header. */
void pyhost_sys_shim_Py_INCREF(PyObject *op);
void pyhost_sys_shim_Py_DECREF(PyObject *op);
void pyhost_sys_shim_Py_XINCREF(PyObject *op);
void pyhost_sys_shim_Py_XDECREF(PyObject *op);
Py_ssize_t pyhost_sys_shim_Py_REFCNT(PyObject *op);
int pyhost_sys_shim_Py_IsImmortal(PyObject *op);
PyTypeObject *pyhost_sys_shim_Py_TYPE(PyObject *op);
Py_ssize_t pyhost_sys_shim_Py_SIZE(PyObject *op);

/* Tuples and lists. */
PyObject *pyhost_sys_shim_PyTuple_GET_ITEM(PyObject *op, Py_ssize_t i);
void pyhost_sys_shim_PyTuple_SET_ITEM(PyObject *op, Py_ssize_t i, PyObject *v);
Py_ssize_t pyhost_sys_shim_PyTuple_GET_SIZE(PyObject *op);
PyObject *pyhost_sys_shim_PyList_GET_ITEM(PyObject *op, Py_ssize_t i);
void pyhost_sys_shim_PyList_SET_ITEM(PyObject *op, Py_ssize_t i, PyObject *v);
Py_ssize_t pyhost_sys_shim_PyList_GET_SIZE(PyObject *op);

/* Scalars. */
double pyhost_sys_shim_PyFloat_AS_DOUBLE(PyObject *op);
char *pyhost_sys_shim_PyBytes_AS_STRING(PyObject *op);
Py_ssize_t pyhost_sys_shim_PyBytes_GET_SIZE(PyObject *op);

/* Type checks. */
int pyhost_sys_shim_PyObject_TypeCheck(PyObject *op, PyTypeObject *tp);
int pyhost_sys_shim_PyLong_Check(PyObject *op);
int pyhost_sys_shim_PyLong_CheckExact(PyObject *op);
int pyhost_sys_shim_PyFloat_Check(PyObject *op);
int pyhost_sys_shim_PyFloat_CheckExact(PyObject *op);
int pyhost_sys_shim_PyBool_Check(PyObject *op);
int pyhost_sys_shim_PyUnicode_Check(PyObject *op);
int pyhost_sys_shim_PyUnicode_CheckExact(PyObject *op);
int pyhost_sys_shim_PyBytes_Check(PyObject *op);
int pyhost_sys_shim_PyBytes_CheckExact(PyObject *op);
int pyhost_sys_shim_PyByteArray_Check(PyObject *op);
int pyhost_sys_shim_PyTuple_Check(PyObject *op);
int pyhost_sys_shim_PyTuple_CheckExact(PyObject *op);
int pyhost_sys_shim_PyList_Check(PyObject *op);
int pyhost_sys_shim_PyList_CheckExact(PyObject *op);
int pyhost_sys_shim_PyDict_Check(PyObject *op);
int pyhost_sys_shim_PyDict_CheckExact(PyObject *op);
int pyhost_sys_shim_PySet_Check(PyObject *op);
int pyhost_sys_shim_PyFrozenSet_Check(PyObject *op);
int pyhost_sys_shim_PyAnySet_Check(PyObject *op);
int pyhost_sys_shim_PyModule_Check(PyObject *op);
int pyhost_sys_shim_PyType_Check(PyObject *op);
int pyhost_sys_shim_PyExceptionInstance_Check(PyObject *op);
int pyhost_sys_shim_PyExceptionClass_Check(PyObject *op);

/* For the parity tests only: sets the 32 bits of the count that immortality is decided on
 * (the whole count before 3.12), bypassing every check. */
void pyhost_sys_shim_test_set_refcnt_low(PyObject *op, uint32_t value);

/* sizeof(wchar_t) * 2 + (wchar_t is signed), to check pyhost-sys's target module. */
int pyhost_sys_shim_wchar_t_info(void);

/* Version of the headers the shims were compiled with, as PY_VERSION_HEX. */
unsigned long pyhost_sys_shim_PY_VERSION_HEX(void);

#endif /* PYHOST_SHIM_H */
