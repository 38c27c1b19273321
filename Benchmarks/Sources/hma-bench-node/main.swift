// The node process `make bench-cluster` starts (release build of
// MeshTesting.TestNode, the same node the multi-process tests drive).
import MeshTesting

await TestNode.main()
