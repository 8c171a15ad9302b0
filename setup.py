"""Setuptools shim: the data files come from setupbase (see its docstring)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from setuptools import setup

from setupbase import etc_data_files

setup(data_files=etc_data_files())
