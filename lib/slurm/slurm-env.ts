// The environment Slurm's client tools run in. Inside an allocation (salloc, an interactive job,
// another batch job) SLURM_* variables describe that allocation, and srun and sbatch read many
// of them as their own options (SLURM_JOB_ID, SLURM_NTASKS, SLURM_CPUS_PER_TASK,
// SLURM_MEM_PER_CPU…): our steps would be shaped by, or go into, the wrong job, and sbatch would
// hand them to RStudio's job, where a user's own srun in R would read them too. So they go, but
// the two that choose the cluster itself. SBATCH_* stay: they are the user's own defaults for
// sbatch, like the options after `--`.

/** SLURM_* variables that say which cluster to talk to, not which allocation we are in. */
const KEPT = new Set(['SLURM_CONF', 'SLURM_CLUSTERS']);

// A copy of `env` without the SLURM_* variables of an allocation the user may be inside.
export function getSlurmClientEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('SLURM_') && !KEPT.has(name)) continue;
    clean[name] = value;
  }
  return clean;
}
