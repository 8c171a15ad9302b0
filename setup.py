"""Setuptools shim: the data files come from setupbase (see its docstring)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from setuptools import setup  # noqa: E402

from setupbase import etc_data_files  # noqa: E402

setup(data_files=etc_data_files())
