import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent, type ReactNode } from "react";
import { localStore, storageKeys } from "../lib/storage";

export interface SplitPaneProps {
  /** Remembered across visits under this name. */
  name: string;
  direction: "horizontal" | "vertical";
  /** The first pane's share of the space, 0…1. */
  initial: number;
  min?: number;
  max?: number;
  /** The second pane takes only the room its content needs (e.g. a header), the first the rest. */
  collapsed?: boolean;
  first: ReactNode;
  second: ReactNode;
  label: string;
}

/**
 * Two panes and a divider that the pointer drags or the arrow keys move
 * (Home/End for the ends); the size is kept in localStorage.
 */
export function SplitPane({ name, direction, initial, min = 0.1, max = 0.9, collapsed = false, first, second, label }: SplitPaneProps) {
  const [ratio, setRatio] = useState(() => clamp(localStore.get(storageKeys.layout(name), initial), min, max));
  const container = useRef<HTMLDivElement>(null);
  const dragging = useRef(false);

  useEffect(() => {
    localStore.set(storageKeys.layout(name), ratio);
    // Editors and terminals fit themselves on window resizes.
    window.dispatchEvent(new Event("resize"));
  }, [name, ratio]);

  const moveTo = useCallback(
    (clientX: number, clientY: number) => {
      const box = container.current?.getBoundingClientRect();
      if (box === undefined) return;
      const next = direction === "horizontal" ? (clientX - box.left) / box.width : (clientY - box.top) / box.height;
      setRatio(clamp(next, min, max));
    },
    [direction, min, max],
  );

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    dragging.current = true;
    event.currentTarget.setPointerCapture(event.pointerId);
    event.preventDefault();
  };
  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    if (dragging.current) moveTo(event.clientX, event.clientY);
  };
  const onPointerUp = (event: PointerEvent<HTMLDivElement>) => {
    dragging.current = false;
    event.currentTarget.releasePointerCapture(event.pointerId);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const step = event.shiftKey ? 0.1 : 0.02;
    const back = direction === "horizontal" ? "ArrowLeft" : "ArrowUp";
    const forward = direction === "horizontal" ? "ArrowRight" : "ArrowDown";
    if (event.key === back) setRatio((value) => clamp(value - step, min, max));
    else if (event.key === forward) setRatio((value) => clamp(value + step, min, max));
    else if (event.key === "Home") setRatio(min);
    else if (event.key === "End") setRatio(max);
    else return;
    event.preventDefault();
  };

  const firstStyle = collapsed ? { flex: "1 1 auto" } : { flex: `0 0 ${(ratio * 100).toFixed(2)}%` };
  return (
    <div ref={container} className={`split split-${direction}`}>
      <div className="split-pane" style={firstStyle}>
        {first}
      </div>
      {!collapsed && (
        <div
          className="split-divider"
          role="separator"
          aria-label={label}
          aria-orientation={direction === "horizontal" ? "vertical" : "horizontal"}
          aria-valuemin={Math.round(min * 100)}
          aria-valuemax={Math.round(max * 100)}
          aria-valuenow={Math.round(ratio * 100)}
          tabIndex={0}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onKeyDown={onKeyDown}
        />
      )}
      <div className={collapsed ? "split-pane split-pane-rest split-pane-collapsed" : "split-pane split-pane-rest"}>
        {second}
      </div>
    </div>
  );
}

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : (min + max) / 2;
}
