/* pyhost-sys: function versions of C-API macros. See pyhost_shim.h. */
#include "pyhost_shim.h"

PyObject *pyhost_sys_shim_Py_None(void) { return Py_None; }
PyObject *pyhost_sys_shim_Py_True(void) { return Py_True; }
PyObject *pyhost_sys_shim_Py_False(void) { return Py_False; }
PyObject *pyhost_sys_shim_Py_NotImplemented(void) { return Py_NotImplemented; }
PyObject *pyhost_sys_shim_Py_Ellipsis(void) { return Py_Ellipsis; }

void pyhost_sys_shim_Py_INCREF(PyObject *op) { Py_INCREF(op); }
void pyhost_sys_shim_Py_DECREF(PyObject *op) { Py_DECREF(op); }
void pyhost_sys_shim_Py_XINCREF(PyObject *op) { Py_XINCREF(op); }
void pyhost_sys_shim_Py_XDECREF(PyObject *op) { Py_XDECREF(op); }
Py_ssize_t pyhost_sys_shim_Py_REFCNT(PyObject *op) { return Py_REFCNT(op); }
int pyhost_sys_shim_Py_IsImmortal(PyObject *op) {
#if PY_VERSION_HEX >= 0x030C0000
    return _Py_IsImmortal(op);
#else
    (void)op;
    return 0;
#endif
}
PyTypeObject *pyhost_sys_shim_Py_TYPE(PyObject *op) { return Py_TYPE(op); }
Py_ssize_t pyhost_sys_shim_Py_SIZE(PyObject *op) { return Py_SIZE(op); }

PyObject *pyhost_sys_shim_PyTuple_GET_ITEM(PyObject *op, Py_ssize_t i) { return PyTuple_GET_ITEM(op, i); }
void pyhost_sys_shim_PyTuple_SET_ITEM(PyObject *op, Py_ssize_t i, PyObject *v) { PyTuple_SET_ITEM(op, i, v); }
Py_ssize_t pyhost_sys_shim_PyTuple_GET_SIZE(PyObject *op) { return PyTuple_GET_SIZE(op); }
PyObject *pyhost_sys_shim_PyList_GET_ITEM(PyObject *op, Py_ssize_t i) { return PyList_GET_ITEM(op, i); }
void pyhost_sys_shim_PyList_SET_ITEM(PyObject *op, Py_ssize_t i, PyObject *v) { PyList_SET_ITEM(op, i, v); }
Py_ssize_t pyhost_sys_shim_PyList_GET_SIZE(PyObject *op) { return PyList_GET_SIZE(op); }

double pyhost_sys_shim_PyFloat_AS_DOUBLE(PyObject *op) { return PyFloat_AS_DOUBLE(op); }
char *pyhost_sys_shim_PyBytes_AS_STRING(PyObject *op) { return PyBytes_AS_STRING(op); }
Py_ssize_t pyhost_sys_shim_PyBytes_GET_SIZE(PyObject *op) { return PyBytes_GET_SIZE(op); }

int pyhost_sys_shim_PyObject_TypeCheck(PyObject *op, PyTypeObject *tp) { return PyObject_TypeCheck(op, tp); }
int pyhost_sys_shim_PyLong_Check(PyObject *op) { return PyLong_Check(op); }
int pyhost_sys_shim_PyLong_CheckExact(PyObject *op) { return PyLong_CheckExact(op); }
int pyhost_sys_shim_PyFloat_Check(PyObject *op) { return PyFloat_Check(op); }
int pyhost_sys_shim_PyFloat_CheckExact(PyObject *op) { return PyFloat_CheckExact(op); }
int pyhost_sys_shim_PyBool_Check(PyObject *op) { return PyBool_Check(op); }
int pyhost_sys_shim_PyUnicode_Check(PyObject *op) { return PyUnicode_Check(op); }
int pyhost_sys_shim_PyUnicode_CheckExact(PyObject *op) { return PyUnicode_CheckExact(op); }
int pyhost_sys_shim_PyBytes_Check(PyObject *op) { return PyBytes_Check(op); }
int pyhost_sys_shim_PyBytes_CheckExact(PyObject *op) { return PyBytes_CheckExact(op); }
int pyhost_sys_shim_PyByteArray_Check(PyObject *op) { return PyByteArray_Check(op); }
int pyhost_sys_shim_PyTuple_Check(PyObject *op) { return PyTuple_Check(op); }
int pyhost_sys_shim_PyTuple_CheckExact(PyObject *op) { return PyTuple_CheckExact(op); }
int pyhost_sys_shim_PyList_Check(PyObject *op) { return PyList_Check(op); }
int pyhost_sys_shim_PyList_CheckExact(PyObject *op) { return PyList_CheckExact(op); }
int pyhost_sys_shim_PyDict_Check(PyObject *op) { return PyDict_Check(op); }
int pyhost_sys_shim_PyDict_CheckExact(PyObject *op) { return PyDict_CheckExact(op); }
int pyhost_sys_shim_PySet_Check(PyObject *op) { return PySet_Check(op); }
int pyhost_sys_shim_PyFrozenSet_Check(PyObject *op) { return PyFrozenSet_Check(op); }
int pyhost_sys_shim_PyAnySet_Check(PyObject *op) { return PyAnySet_Check(op); }
int pyhost_sys_shim_PyModule_Check(PyObject *op) { return PyModule_Check(op); }
int pyhost_sys_shim_PyType_Check(PyObject *op) { return PyType_Check(op); }
int pyhost_sys_shim_PyExceptionInstance_Check(PyObject *op) { return PyExceptionInstance_Check(op); }
int pyhost_sys_shim_PyExceptionClass_Check(PyObject *op) { return PyExceptionClass_Check(op); }

void pyhost_sys_shim_test_set_refcnt_low(PyObject *op, uint32_t value) {
#if defined(Py_GIL_DISABLED)
    op->ob_ref_local = value;
#elif PY_VERSION_HEX >= 0x030E0000 && SIZEOF_VOID_P > 4
    op->ob_refcnt = value;
#elif PY_VERSION_HEX >= 0x030C0000 && SIZEOF_VOID_P > 4
    op->ob_refcnt_split[PY_BIG_ENDIAN] = value;
#else
    op->ob_refcnt = (Py_ssize_t)value;
#endif
}

int pyhost_sys_shim_wchar_t_info(void) { return (int)sizeof(wchar_t) * 2 + ((wchar_t)-1 < 0); }

unsigned long pyhost_sys_shim_PY_VERSION_HEX(void) { return PY_VERSION_HEX; }
