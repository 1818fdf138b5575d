"""The ECS task definition is valid RegisterTaskDefinition input (botocore's service
model, the one the AWS CLI checks `--cli-input-json` against), and its sidecar is what
the image and config expect."""

import copy

import botocore.session
from botocore.validate import ParamValidator

from conftest import DEPLOY, REPO, load_json

TASK = DEPLOY / "ecs/task-definition.json"


def shape_problems(task):
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(task, shape)
    return report.generate_report() if report.has_errors() else ""


def sidecar(task):
    (c,) = [c for c in task["containerDefinitions"] if c["name"] == "stratus"]
    return c


def test_the_task_definition_matches_the_register_task_definition_shape():
    assert shape_problems(load_json(TASK)) == ""


def test_a_wrong_field_fails_the_shape_check():
    task = copy.deepcopy(load_json(TASK))
    sidecar(task)["healthCheck"]["interval"] = "30s"
    task["containerDefinitions"][0]["essentialy"] = True
    problems = shape_problems(task)
    assert "interval" in problems and "essentialy" in problems, problems


def test_the_brief_s_fargate_shape():
    task = load_json(TASK)
    assert task["networkMode"] == "awsvpc"
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert task["taskRoleArn"].endswith(":role/StratusTaskRole")
    names = [c["name"] for c in task["containerDefinitions"]]
    assert "stratus" in names and len(names) >= 2, names


def test_the_sidecar_runs_the_config_from_its_environment_with_a_working_health_check():
    task = load_json(TASK)
    c = sidecar(task)
    assert c["command"] == ["--config", "env:STRATUS_CONFIG_YAML"]
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["STRATUS_CONFIG_YAML"] == (REPO / "config/ecs-sidecar.yaml").read_text()
    # Exec form: the distroless image has no shell for CMD-SHELL (or wget).
    assert c["healthCheck"]["command"] == ["CMD", "/usr/local/bin/stratus", "healthcheck"]
    assert c["user"] == "65532:65532" and c["readonlyRootFilesystem"] is True
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    assert "portMappings" not in c, "nothing outside the task needs to reach the sidecar"
    # No credentials in the environment: the task role provides them.
    for name in env:
        assert "SECRET" not in name and "ACCESS_KEY" not in name, name
    app = [x for x in task["containerDefinitions"] if x["name"] != "stratus"][0]
    assert {"containerName": "stratus", "condition": "HEALTHY"} in app["dependsOn"]
    app_env = {e["name"]: e["value"] for e in app["environment"]}
    assert app_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"
