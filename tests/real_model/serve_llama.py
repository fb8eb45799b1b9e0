"""Run llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``), with the
CPU's weight repacking turned off: llama.cpp 0.3.36's repacked kernels crash (SIGSEGV) on any
prompt of more than one token on this machine's CPU (AVX-512 + AMX). Same arguments as
``python -m llama_cpp.server``."""

from __future__ import annotations

import llama_cpp
import llama_cpp.llama

_default_params = llama_cpp.llama_model_default_params


def _without_repacking():  # type: ignore[no-untyped-def]
    params = _default_params()
    params.use_extra_bufts = False
    return params


llama_cpp.llama.llama_cpp.llama_model_default_params = _without_repacking

if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    main()
