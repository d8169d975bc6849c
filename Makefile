# Two commands do all the set-up on a fresh machine:
#   make repro   create/reuse .venv, install, run the default DVC pipeline and its results page
#   make repro-nerf    the NeRF stages and their page; make repro-arena: the Neural Field Arena
#   make repro-modelnet40 / repro-modelnet10   ModelNet point clouds (UDF) through the whole pipeline
#   make repro-parts   part segmentation from the default embeddings vs PointNet on the same points
#   make repro-completion   shape completion on the default shapes (partial shapes, their NFs, the transfer MLP)
#   make repro-generation   shape generation on the default shapes (latent GAN, decoded, Chamfer-scored)
#   make repro-shape-tasks   the three above and their results page (reports/shape-tasks.html)
#   make repro-field-kinds   the shapes as SDFs and as UDFs through the pipeline, the UDF -> SDF mapping, its page
#   make pages   regenerate every results page (reports/*.html, docs/results*.md) from metrics/ and plots/
#   make test    create/reuse .venv, install, run the test suite
#   make deps    rewrite dvc.yaml's code deps from the stage scripts' imports (tests/test_stage_deps.py checks them)
#   make gpu-check   on a machine with CUDA: the CUDA-only tests and the lego NeRF on the GPU
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export DVC_NO_ANALYTICS := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONHASHSEED := 0

.PHONY: env deps repro repro-parts repro-completion repro-generation repro-shape-tasks repro-field-kinds repro-modelnet10 repro-modelnet40 repro-arena repro-nerf repro-all pages test gpu-check bench clean-env

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# Without an NVIDIA GPU, take the CPU build of torch (a plain 'torch' pulls a multi-GB CUDA build).
	if ! command -v nvidia-smi >/dev/null 2>&1 && ! $(PY) -c "import torch" 2>/dev/null; then \
	  $(PY) -m pip install -q "torch==2.13.0"; fi
	$(PY) -m pip install -q -e ".[test]"
	touch $@

env: $(VENV)/.installed

repro: env
	$(VENV)/bin/dvc repro report@shapes site

# Part segmentation (Zama Ramirez et al. 2024, Table IV) on pipeline.segmentation's datasets
repro-parts: env
	$(VENV)/bin/dvc repro part_seg@shapes

# ModelNet40 point clouds as UDF fields (Zama Ramirez et al. 2024, §IV) from ../shared/data/modelnet40-pc1024
# (datasets.modelnet40.root); repro-modelnet10: the same clouds, ModelNet10's 10 classes (quicker)
repro-modelnet40: env
	$(VENV)/bin/dvc repro report@modelnet40

repro-modelnet10: env
	$(VENV)/bin/dvc repro report@modelnet10

# Shape completion (Zama Ramirez et al. 2024, Figs. 16-17): partial shapes -> their NFs -> transfer MLP
repro-completion: env
	$(VENV)/bin/dvc repro shape_complete@shapes

# Shape generation (Zama Ramirez et al. 2024, §V, Figs. 14-15): a latent GAN on the shapes' embeddings
repro-generation: env
	$(VENV)/bin/dvc repro shape_generate@shapes

repro-shape-tasks: env
	$(VENV)/bin/dvc repro shape_tasks_site

# Every field kind (Zama Ramirez et al. 2024, §V, Fig. 18): datasets shapes_sdf and shapes_udf through the
# pipeline, then UDF embeddings mapped to SDF embeddings and decoded into meshes (pipeline.field_maps)
repro-field-kinds: env
	$(VENV)/bin/dvc repro report@shapes_sdf report@shapes_udf field_kinds_site

# The Neural Field Arena (Papa et al. 2024: Neural MNIST/Digits, shared vs random init, studies, leaderboard)
repro-arena: env
	$(VENV)/bin/dvc repro arena_report arena_site

# NeRFs as data (Zama Ramirez et al. 2024, §VI: renders, NeRF fitting, nf2vec on NeRFs, tasks, generation)
repro-nerf: env
	$(VENV)/bin/dvc repro nerf_tasks nerf_transfer nerf_generate nerf_site

repro-all: env
	$(VENV)/bin/dvc repro

# The results pages alone, from the committed metrics and plots (no upstream stage runs)
pages: env
	$(VENV)/bin/dvc repro -s site nerf_site arena_site shape_tasks_site field_kinds_site

test: env
	$(PY) -m pytest -q

# Each stage's code deps in dvc.yaml: the files its script imports (nf2vec_core/devtools/stage_deps.py)
deps: env
	$(PY) -m nf2vec_core.devtools.stage_deps --write

# The GPU checks (CI has no GPU): the tests that skip without CUDA (nerfacc's occupancy-grid kernel
# and packed rendering against their pure-PyTorch references, the CUDA fitting paths), then the
# lego NeRF fitted through nerfacc's occupancy grid and through the batched path (figures as JSON).
gpu-check: env
	$(PY) -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu-check: no CUDA device')"
	$(PY) -m pytest -q -rs -k "cuda" tests
	$(PY) bench/nerf_lego.py --device cuda --estimator occgrid --steps 5000
	$(PY) bench/nerf_lego.py --device cuda --estimator batched --steps 5000

bench: env
	$(PY) bench/fit_throughput.py

clean-env:
	rm -rf $(VENV)
