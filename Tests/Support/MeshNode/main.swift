// hma-mesh-node: a mesh node for multi-process tests, driven over standard
// input (see MeshTesting.TestNode for its options and commands).
import MeshTesting

await TestNode.main()
