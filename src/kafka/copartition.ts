// The co-partitioning assignment plan, client-agnostic (Goka's copartitioning strategy).

/**
 * Splits partitions into contiguous ranges, one per member sorted by id, the same range for
 * every topic, so partition p of every input, the loop and the table meet in one instance.
 * Members and partitions are sorted, so every member computes the same plan.
 */
export function copartitionPlan(memberIds: string[], partitions: number): Map<string, number[]> {
  const members = [...memberIds].sort();
  const plan = new Map<string, number[]>();
  const step = partitions / members.length;
  members.forEach((m, i) => {
    const from = Math.floor(i * step + 0.5);
    const to = Math.floor((i + 1) * step + 0.5);
    const list: number[] = [];
    for (let p = from; p < to; p++) list.push(p);
    plan.set(m, list);
  });
  return plan;
}
