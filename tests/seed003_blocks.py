"""Seed 003's Python blocks, verbatim and in order (``../shared/seeds/003_340b24e7ed9a88dc.txt``).

tests/sync/test_tracking_seed.py runs them and, where the seed file is reachable, checks this copy is
still the seed's text byte for byte.
"""

BLOCKS: dict[str, str] = {
    "quick_start": r"""from kaizen.agents.autonomous.base import BaseAutonomousAgent, AutonomousConfig
from kaizen.signatures import Signature, InputField, OutputField

class TaskSignature(Signature):
    task: str = InputField(description="Task to perform")
    result: str = OutputField(description="Result")

# Create agent with default configuration
config = AutonomousConfig(
    max_cycles=10,
    llm_provider="ollama",
    model="llama3.2",
)

agent = BaseAutonomousAgent(config=config, signature=TaskSignature())

# Record approvals during execution
agent.record_approval("Bash", True, "once", {"command": "ls -la"})
agent.record_approval("Write", False, "deny_all")

# Record tool usage
agent.record_tool_usage("Bash")
agent.record_tool_usage("Read", increment=5)

# Update workflow state
agent.update_workflow_state(
    run_id="run_abc123",
    status="running",
    current_node="process_data",
)

# Access tracked state
approval_history = agent._get_approval_history()
tool_counts = agent._get_tool_usage_counts()
workflow_state = agent._get_workflow_state()
""",
    "recording_approvals": r"""# Record a simple approval
agent.record_approval("Bash", True)  # Approved for this invocation

# Record approval with action type
agent.record_approval("Write", True, "all")  # Approve all future uses
agent.record_approval("Delete", False, "deny_all")  # Deny all future uses

# Record approval with tool input for audit
agent.record_approval(
    tool_name="Bash",
    approved=True,
    action="once",
    tool_input={"command": "rm -rf /tmp/test"}  # Truncated for storage
)
""",
    "approval_record_structure": r"""{
    "tool_name": "Bash",           # Name of the tool
    "approved": True,              # Whether approved (True/False)
    "action": "once",              # Action type: "once", "all", "deny_all"
    "timestamp": "2025-01-01T12:00:00.000000",  # ISO timestamp
    "input_summary": "{'command': 'ls -la'}"    # Truncated tool input
}
""",
    "retrieving_approval_history": r"""# Get all approval records (returns a copy)
history = agent._get_approval_history()

# Iterate through approvals
for record in history:
    print(f"{record['tool_name']}: {'Approved' if record['approved'] else 'Denied'}")

# Filter by tool name
bash_approvals = [r for r in history if r['tool_name'] == 'Bash']
denied_tools = [r for r in history if not r['approved']]
""",
    "recording_tool_usage": r"""# Record single tool use
agent.record_tool_usage("Bash")  # Increments by 1
agent.record_tool_usage("Read")

# Record multiple uses at once
agent.record_tool_usage("LLM", increment=5)  # Custom increment

# Track in execution hooks
async def tool_execution_hook(context):
    tool_name = context.data.get("tool_name")
    agent.record_tool_usage(tool_name)
""",
    "retrieving_tool_usage_counts": r"""# Get all tool usage counts (returns a copy)
counts = agent._get_tool_usage_counts()

# Access specific tool count
bash_count = counts.get("Bash", 0)
total_llm_calls = counts.get("LLM", 0)

# Calculate total tool invocations
total = sum(counts.values())

# Find most used tools
sorted_tools = sorted(counts.items(), key=lambda x: x[1], reverse=True)
print(f"Most used: {sorted_tools[0][0]} ({sorted_tools[0][1]} times)")
""",
    "cost_estimation": r"""# Define cost per tool
TOOL_COSTS = {
    "LLM": 0.01,      # $0.01 per call
    "Bash": 0.001,    # $0.001 per call
    "Read": 0.0001,   # $0.0001 per call
}

# Calculate total cost
counts = agent._get_tool_usage_counts()
total_cost = sum(
    counts.get(tool, 0) * cost
    for tool, cost in TOOL_COSTS.items()
)
print(f"Estimated cost: ${total_cost:.4f}")
""",
    "updating_workflow_state": r"""# Update with individual fields
agent.update_workflow_state(
    run_id="run_abc123",
    status="running",
    current_node="process_data",
    execution_time=1.5,
)

# Update with additional custom fields
agent.update_workflow_state(
    run_id="run_abc123",
    status="running",
    node_results={"node1": "success", "node2": "pending"},
    error_count=0,
    retry_count=2,
)

# Partial updates preserve existing state
agent.update_workflow_state(status="completed")  # Only updates status
""",
    "workflow_state_structure": r"""{
    "run_id": "run_abc123",          # Workflow execution ID
    "status": "running",              # Status: running, completed, failed
    "current_node": "process_data",   # Currently executing node
    "node_results": {...},            # Results from completed nodes
    "execution_time": 1.5,            # Total execution time (seconds)
    "last_updated": "2025-01-01T12:00:00.000000",  # Auto-updated
    # ... any additional custom fields
}
""",
    "retrieving_workflow_state": r"""# Get workflow state (returns a copy)
state = agent._get_workflow_state()

# Access specific fields
run_id = state.get("run_id")
status = state.get("status")
current_node = state.get("current_node")

# Check if workflow is complete
if state.get("status") == "completed":
    print(f"Workflow {run_id} completed in {state.get('execution_time')}s")
""",
    "capture_state": r"""# Capture state (includes all tracking)
state = agent._capture_state()

# AgentState includes:
# - approval_history: list of approval records
# - tool_usage_counts: dict of tool -> count
# - workflow_state: dict of workflow execution state
# - workflow_run_id: current workflow run ID

print(f"Approvals: {len(state.approval_history)}")
print(f"Tools used: {list(state.tool_usage_counts.keys())}")
print(f"Workflow: {state.workflow_run_id}")
""",
    "state_restoration": r"""# Restore from checkpoint
agent._restore_state(checkpoint_state)

# All tracking state is now restored
history = agent._get_approval_history()  # Restored approvals
counts = agent._get_tool_usage_counts()   # Restored counts
wf_state = agent._get_workflow_state()    # Restored workflow state
""",
    "best_practice_1_record_approvals_immediately": r"""# Record approval right after the decision is made
async def handle_tool_approval(tool_name, tool_input, approved, action):
    # Record before executing or skipping tool
    agent.record_approval(tool_name, approved, action, tool_input)

    if not approved:
        raise PermissionError(f"Tool {tool_name} was denied")
""",
    "best_practice_2_consistent_tool_names": r"""# Define tool names as constants
class ToolNames:
    BASH = "Bash"
    READ = "Read"
    WRITE = "Write"
    LLM = "LLM"

# Use constants throughout
agent.record_tool_usage(ToolNames.BASH)
agent.record_approval(ToolNames.WRITE, True)
""",
    "best_practice_3_workflow_state_at_key_points": r"""# Update at workflow start
agent.update_workflow_state(run_id=run_id, status="running")

# Update at each node
for node in nodes:
    agent.update_workflow_state(current_node=node.id)
    # ... execute node
    agent.update_workflow_state(
        node_results={**state.get("node_results", {}), node.id: result}
    )

# Update at workflow end
agent.update_workflow_state(
    status="completed",
    execution_time=end_time - start_time
)
""",
    "best_practice_4_preserve_state_on_errors": r"""try:
    result = await execute_workflow()
    agent.update_workflow_state(status="completed")
except Exception as e:
    agent.update_workflow_state(
        status="failed",
        error_message=str(e),
        error_type=type(e).__name__,
    )
    # State is preserved for debugging
    raise
""",
}
