"""Development tools (not imported by the pipeline): dvc.yaml code deps from the stage scripts' imports."""
