# Crash and concurrency safety of the workflow itself (README, "Guarantees").
#
# 1. At start (after Snakemake took its lock, never in a dry run), delete the temporaries that killed jobs left
#    in results/ and in the output cache: the atomic writers of reward_preprocessing.artifacts name them after
#    their host and process, so only leftovers of processes that no longer run are touched.
# 2. Store outputs in the between-workflow cache without ever replacing or nesting an entry. Snakemake's local
#    cache moves a finished output onto its entry with shutil.move; when another checkout sharing the cache
#    stored the same entry a moment earlier, a directory is moved *into* that entry (`<hash>/<hash>/...`).
#    Here the output is staged in the cache and published with a rename that refuses an existing entry; the
#    loser of such a race links to the winner's entry (the same job with the same inputs and code: the same
#    bytes, see the determinism guarantee).

import shutil

import snakemake.caching.local as _snakemake_local_cache

sys.path.insert(0, workflow.basedir)
from reward_preprocessing.artifacts import (  # noqa: E402
    publish_noreplace,
    remove_stale_temporaries,
    temporary_prefix,
)


async def _store_without_replacing(self, job):
    """`OutputFileCache.store` with an atomic, non-replacing publish of each entry."""
    import tempfile

    if not os.access(self.path, os.W_OK):
        raise WorkflowError(f"Cannot access cache location {self.path}. Please ensure that it is present and writeable.")
    for outputfile, cachefile in await self.get_outputfiles_and_cachefiles(job):
        if not os.path.exists(outputfile):
            raise WorkflowError(f"Cannot move output file {outputfile} to cache. It does not exist.")
        self.check_writeable(cachefile)
        staging = Path(tempfile.mkdtemp(prefix=temporary_prefix(Path(cachefile)), dir=self.path))
        try:
            tmp = staging / Path(cachefile).name
            _snakemake_local_cache.logger.info(f"Moving output file {outputfile} to cache.")
            shutil.move(outputfile, tmp, copy_function=shutil.copy)
            self.set_permissions(tmp)
            if not publish_noreplace(tmp, cachefile):
                _snakemake_local_cache.logger.info(f"Cache entry {cachefile} was stored by another run; using it.")
            self.symlink(cachefile, outputfile, utime=False)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


_snakemake_local_cache.OutputFileCache.store = _store_without_replacing


onstart:
    removed = remove_stale_temporaries("results")
    if getattr(workflow, "output_file_cache", None) is not None:
        removed += remove_stale_temporaries(workflow.output_file_cache.path, recursive=False)
    for path in removed:
        print(f"removed a temporary left by a killed job: {path}", file=sys.stderr)
