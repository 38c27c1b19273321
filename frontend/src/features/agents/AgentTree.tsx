import { memo, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { treeKey } from "../../components/treeKeys";
import { formatTokens, formatUsd } from "../../lib/format";
import { buildAgentTree, totals, type AgentNode, type AgentsState, type AgentTreeNode } from "./agentsState";

interface Row {
  agent: AgentNode;
  depth: number;
  expandable: boolean;
  expanded: boolean;
}

const roleLabels: Record<AgentNode["role"], string> = { master: "Master", manager: "Manager", coder: "Coder", tester: "Tester" };

function flatten(nodes: AgentTreeNode[], collapsed: Set<string>, depth: number, out: Row[]): Row[] {
  for (const node of nodes) {
    const expandable = node.children.length > 0;
    const expanded = expandable && !collapsed.has(node.agent.agentId);
    out.push({ agent: node.agent, depth, expandable, expanded });
    if (expanded) flatten(node.children, collapsed, depth + 1, out);
  }
  return out;
}

function displayPath(agent: AgentNode): string {
  if (agent.role === "master") return "the project";
  if (agent.path === "") return "/";
  return agent.path;
}

/** The live agent hierarchy: who works on what, where, and what it costs. */
export const AgentTree = memo(function AgentTree({ agents }: { agents: AgentsState }) {
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [focused, setFocused] = useState(0);
  const itemRefs = useRef<(HTMLLIElement | null)[]>([]);
  const rows = useMemo(() => flatten(buildAgentTree(agents), collapsed, 0, []), [agents, collapsed]);
  const sum = useMemo(() => totals(agents), [agents]);
  const focusIndex = Math.min(focused, Math.max(0, rows.length - 1));

  const toggle = (id: string, expand: boolean) =>
    setCollapsed((current) => {
      const next = new Set(current);
      if (expand) next.delete(id);
      else next.add(id);
      return next;
    });
  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    const move = treeKey(rows, focusIndex, event.key);
    if (move.kind === "none") return;
    event.preventDefault();
    if (move.kind === "focus") {
      setFocused(move.index);
      itemRefs.current[move.index]?.focus();
    } else if (move.kind === "toggle") {
      const row = rows[move.index];
      if (row !== undefined) toggle(row.agent.agentId, move.expand);
    }
  };

  const budget = agents.budgetUsd;
  return (
    <section className="agents panel" aria-label="Agents">
      <header className="panel-header">
        <h2 className="panel-title">Agents</h2>
        <span className="muted">{rows.length > 0 ? `${Object.keys(agents.agents).length} agents` : ""}</span>
      </header>
      <div className="panel-scroll">
        {rows.length === 0 ? (
          <p className="muted panel-empty">The agents appear here when a run starts.</p>
        ) : (
          <ul className="tree agent-tree" role="tree" aria-label="Agent hierarchy" onKeyDown={onKeyDown}>
            {rows.map((row, index) => {
              const agent = row.agent;
              return (
                <li
                  key={agent.agentId}
                  ref={(element) => {
                    itemRefs.current[index] = element;
                  }}
                  role="treeitem"
                  aria-level={row.depth + 1}
                  aria-expanded={row.expandable ? row.expanded : undefined}
                  aria-selected={index === focusIndex}
                  tabIndex={index === focusIndex ? 0 : -1}
                  className={`tree-row agent agent-${agent.status}`}
                  style={{ paddingLeft: `${0.5 + row.depth * 1}rem` }}
                  onFocus={() => setFocused(index)}
                  onClick={() => {
                    setFocused(index);
                    if (row.expandable) toggle(agent.agentId, !row.expanded);
                  }}
                  data-agent-id={agent.agentId}
                >
                  <span className="tree-twisty" aria-hidden="true">
                    {row.expandable ? (row.expanded ? "▾" : "▸") : ""}
                  </span>
                  <span className={`role role-${agent.role}`}>{roleLabels[agent.role]}</span>
                  <span className="agent-path" title={agent.agentId}>
                    {displayPath(agent)}
                  </span>
                  <span className={`status status-${agent.status}`}>{agent.status}</span>
                  {agent.node !== "" && <span className="agent-node" title="Node running this agent">{agent.node}</span>}
                  {agent.calls > 0 && (
                    <span className="agent-usage" title={`${agent.inputTokens} tokens in, ${agent.outputTokens} out, ${agent.calls} calls`}>
                      {formatTokens(agent.inputTokens)}↓ {formatTokens(agent.outputTokens)}↑ {formatUsd(agent.costUsd)}
                    </span>
                  )}
                  {agent.task !== undefined && agent.task !== "" && (
                    <span className="agent-task" title={agent.task}>
                      {agent.task.length > 120 ? agent.task.slice(0, 117) + "…" : agent.task}
                    </span>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </div>
      <footer className="agents-footer" aria-label="Project cost">
        <span>
          {formatTokens(sum.inputTokens)} in · {formatTokens(sum.outputTokens)} out
        </span>
        <span>
          {formatUsd(agents.projectTotalUsd)}
          {budget !== null ? ` of ${formatUsd(budget)}` : ""}
        </span>
        {budget !== null && budget > 0 && (
          <progress className="budget" max={budget} value={Math.min(budget, agents.projectTotalUsd)} aria-label="Budget used" />
        )}
      </footer>
    </section>
  );
});
