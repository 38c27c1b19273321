import type { AgentInfo, Action } from "../../state/types";

/** An agent with what its model calls cost. */
export interface AgentNode extends AgentInfo {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  calls: number;
}

export interface AgentsState {
  agents: Record<string, AgentNode>;
  /** Ids in the order they appeared. */
  order: string[];
  rootId: string;
  projectTotalUsd: number;
  budgetUsd: number | null;
}

export const initialAgents: AgentsState = { agents: {}, order: [], rootId: "master", projectTotalUsd: 0, budgetUsd: null };

/**
 * What each agent's model is saying right now (the newest part), until the
 * agent stops working. A slice of its own: tokens arrive many times a
 * second, and the agent tree, which does not show them, must not re-render
 * for each.
 */
export type LiveStreams = Record<string, string>;

export const initialStreams: LiveStreams = {};

/** How much of a live stream is kept per agent. */
export const streamTail = 4000;

function withoutStream(streams: LiveStreams, agentId: string): LiveStreams {
  if (streams[agentId] === undefined) return streams;
  const next = { ...streams };
  delete next[agentId];
  return next;
}

export function streamsReducer(state: LiveStreams, action: Action): LiveStreams {
  if (action.kind === "session/open" || action.kind === "session/clear") return initialStreams;
  if (action.kind !== "server") return state;
  const event = action.event;
  switch (event.type) {
    case "agent_update": {
      const working = event.payload.status === "active" || event.payload.status === "delegating";
      return working ? state : withoutStream(state, event.payload.agentId);
    }
    case "llm_stream": {
      const { agentId, delta, done } = event.payload;
      if (done) return withoutStream(state, agentId);
      const text = (state[agentId] ?? "") + delta;
      return { ...state, [agentId]: text.length > streamTail ? text.slice(-streamTail) : text };
    }
    case "message": {
      // The master said it in full: its live text is done.
      const agentId = event.payload.agentId;
      return agentId !== undefined && event.payload.sender === "assistant" ? withoutStream(state, agentId) : state;
    }
    default:
      return state;
  }
}

const noUsage = { inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 };

/** The whole tree from a snapshot; what is known of each agent's usage stays. */
function replaceTree(state: AgentsState, agents: AgentInfo[], rootId: string): AgentsState {
  const next: Record<string, AgentNode> = {};
  const order: string[] = [];
  for (const agent of agents) {
    const known = state.agents[agent.agentId];
    next[agent.agentId] = {
      ...(known ?? noUsage),
      ...agent,
      task: agent.task ?? known?.task,
      inputTokens: known?.inputTokens ?? 0,
      outputTokens: known?.outputTokens ?? 0,
      costUsd: known?.costUsd ?? 0,
      calls: known?.calls ?? 0,
    };
    if (!order.includes(agent.agentId)) order.push(agent.agentId);
  }
  return { ...state, agents: next, order, rootId };
}

export function agentsReducer(state: AgentsState, action: Action): AgentsState {
  if (action.kind === "session/open" || action.kind === "session/clear") return initialAgents;
  if (action.kind !== "server") return state;
  const event = action.event;
  switch (event.type) {
    case "agent_hierarchy":
      return replaceTree(state, event.payload.agents, event.payload.rootAgentId);
    case "resync_required":
      return replaceTree(state, event.payload.agents, state.rootId);
    case "agent_update": {
      const update = event.payload;
      const known = state.agents[update.agentId];
      const node: AgentNode = { ...(known ?? noUsage), ...update, task: update.task ?? known?.task };
      return {
        ...state,
        agents: { ...state.agents, [update.agentId]: node },
        order: known === undefined ? [...state.order, update.agentId] : state.order,
      };
    }
    case "token_usage": {
      const usage = event.payload;
      const known = state.agents[usage.agentId];
      const base: AgentNode = known ?? { ...noUsage, ...placeholder(usage.agentId) };
      const node: AgentNode = {
        ...base,
        inputTokens: base.inputTokens + usage.inputTokens,
        outputTokens: base.outputTokens + usage.outputTokens,
        costUsd: base.costUsd + usage.costUsd,
        calls: base.calls + 1,
      };
      return {
        ...state,
        agents: { ...state.agents, [usage.agentId]: node },
        order: known === undefined ? [...state.order, usage.agentId] : state.order,
        projectTotalUsd: usage.projectTotalUsd,
        budgetUsd: usage.budgetUsd ?? state.budgetUsd,
      };
    }
    default:
      return state;
  }
}

/** An agent known only from its usage, until its update arrives; the id says its role and path. */
export function placeholder(agentId: string): AgentInfo {
  if (agentId === "master") return { agentId, role: "master", path: "", status: "active", node: "" };
  const colon = agentId.indexOf(":");
  const role = colon > 0 ? agentId.slice(0, colon) : "coder";
  const path = colon > 0 ? agentId.slice(colon + 1) : agentId;
  const known = role === "manager" || role === "coder" || role === "tester" ? role : "coder";
  return { agentId, role: known, path, status: "active", node: "" };
}

export interface AgentTreeNode {
  agent: AgentNode;
  children: AgentTreeNode[];
}

/** The agents as a forest by `parentId`, in the order they appeared; agents whose parent is unknown are roots. */
export function buildAgentTree(state: AgentsState): AgentTreeNode[] {
  const nodes = new Map<string, AgentTreeNode>();
  for (const id of state.order) {
    const agent = state.agents[id];
    if (agent !== undefined) nodes.set(id, { agent, children: [] });
  }
  const roots: AgentTreeNode[] = [];
  for (const node of nodes.values()) {
    const parentId = node.agent.parentId;
    const parent = parentId !== undefined && parentId !== null ? nodes.get(parentId) : undefined;
    if (parent !== undefined && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

/** Tokens and cost of the whole project as the events told them. */
export function totals(state: AgentsState): { inputTokens: number; outputTokens: number; costUsd: number } {
  let inputTokens = 0;
  let outputTokens = 0;
  let costUsd = 0;
  for (const agent of Object.values(state.agents)) {
    inputTokens += agent.inputTokens;
    outputTokens += agent.outputTokens;
    costUsd += agent.costUsd;
  }
  return { inputTokens, outputTokens, costUsd: Math.max(costUsd, state.projectTotalUsd) };
}
