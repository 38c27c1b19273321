import { useCallback, useEffect, useState } from "react";
import type { ClusterStatusEvent } from "../../protocol";
import { reportFailure, useServices } from "../../app/services";
import { Dialog } from "../../components/Dialog";

/** The mesh's nodes: their roles, state and load (`cluster_status`). */
export function ClusterDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { connection, dispatch } = useServices();
  const [nodes, setNodes] = useState<ClusterStatusEvent["nodes"] | null>(null);
  const refresh = useCallback(async () => {
    try {
      const status = await connection.ask("cluster_status", {}, "cluster_status");
      setNodes(status.nodes);
    } catch (error) {
      reportFailure(dispatch, error, "Reading the cluster");
    }
  }, [connection, dispatch]);
  useEffect(() => {
    if (!open) return;
    void refresh();
    const timer = window.setInterval(() => void refresh(), 5000);
    return () => window.clearInterval(timer);
  }, [open, refresh]);
  return (
    <Dialog title="Cluster" open={open} onClose={onClose} wide>
      {nodes === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <table className="cluster-table">
          <caption className="visually-hidden">Nodes of the mesh</caption>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Roles</th>
              <th scope="col">State</th>
              <th scope="col">Load</th>
              <th scope="col">Actors</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((node) => (
              <tr key={node.name}>
                <td>{node.name}</td>
                <td>{node.roles.join(", ")}</td>
                <td>
                  <span className={`status status-${node.state}`}>{node.state}</span>
                </td>
                <td>{node.load !== undefined ? node.load.toFixed(2) : "—"}</td>
                <td>{node.actors ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted">Refreshes every 5 seconds while open.</p>
    </Dialog>
  );
}
