"""The registry: names, wildcards, errors that help, and discovery of plugins and student files."""

from __future__ import annotations

import json
import os

import keras
import pytest

from mnist_lab.core.errors import DuplicateModelError, ModelContractError, ModelNotFoundError


def tiny_model(inputs=(28, 28, 1), outputs=10, compile=False):
    """A two-layer model that satisfies (or, with other shapes, breaks) the MNIST contract."""
    model = keras.Sequential(
        [keras.Input(shape=inputs), keras.layers.Flatten(), keras.layers.Dense(outputs, "softmax")]
    )
    if compile:
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


@pytest.fixture
def three_models(clean_registry, monkeypatch):
    """Only the built-in reference plus alpha, alpha-small and beta, so the names are known."""
    monkeypatch.setattr(
        clean_registry, "_MODELS", {"reference": clean_registry._MODELS["reference"]}
    )
    for name in ("alpha", "alpha-small", "beta"):
        clean_registry.register_model(name, description=f"{name} model")(lambda: tiny_model())
    return clean_registry


def test_builtin_reference_is_registered(clean_registry):
    spec = clean_registry.model_info("reference")
    assert spec.source == "built-in"
    assert "mnist_lab/models/zoo/reference.py:" in spec.origin
    assert "reference" in clean_registry.list_models()


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        ("*", (), ["alpha", "alpha-small", "beta", "reference"]),
        ("alpha*", (), ["alpha", "alpha-small"]),
        ("alpha?small", (), ["alpha-small"]),
        (["beta", "ref*"], (), ["beta", "reference"]),
        ("*", "alpha*", ["beta", "reference"]),
        ("*", ["*a", "ref*"], ["alpha-small"]),
        ("nothing*", (), []),
    ],
)
def test_list_models_filters_with_wildcards_and_sorts(three_models, include, exclude, expected):
    assert three_models.list_models(include, exclude) == expected


def test_unknown_name_suggests_the_closest_and_lists_all(three_models):
    with pytest.raises(ModelNotFoundError) as caught:
        three_models.create_model("refrence")
    assert str(caught.value) == (
        "Unknown model 'refrence'. Did you mean 'reference'? "
        "Registered models: alpha, alpha-small, beta, reference (see 'mnist-lab list')."
    )


def test_unknown_name_without_a_close_match_has_no_suggestion(three_models):
    with pytest.raises(ModelNotFoundError, match="^Unknown model 'zzzz'. Registered models: "):
        three_models.model_info("zzzz")


def test_duplicate_name_names_both_definitions(clean_registry):
    clean_registry.register_model("twin")(lambda: tiny_model())
    first = clean_registry.model_info("twin").origin

    def other_twin():
        return tiny_model()

    with pytest.raises(DuplicateModelError) as caught:
        clean_registry.register_model("twin")(other_twin)
    message = str(caught.value)
    assert message.startswith("The model name 'twin' is registered twice: in ")
    assert first in message
    assert f"test_registry.py:{other_twin.__code__.co_firstlineno}" in message
    assert message.endswith("Rename one of them.")


def test_registering_the_same_function_again_is_allowed(clean_registry):
    def builder():
        return tiny_model()

    clean_registry.register_model("again")(builder)
    clean_registry.register_model("again", description="second")(builder)
    assert clean_registry.model_info("again").description == "second"


@pytest.mark.parametrize("bad", ["", " ", "two words", 7])
def test_register_rejects_bad_names(clean_registry, bad):
    with pytest.raises(ValueError, match="A model name must be a non-empty string without spaces"):
        clean_registry.register_model(bad)


def test_decorator_returns_the_function_and_takes_description_from_docstring(clean_registry):
    def documented():
        """A model whose docstring describes it.

        More lines are not shown."""
        return tiny_model()

    assert clean_registry.register_model("documented", tags=["tiny"])(documented) is documented
    spec = clean_registry.model_info("documented")
    assert spec.description == "A model whose docstring describes it."
    assert spec.tags == ("tiny",)


def test_uncompiled_builder_gets_the_reference_compile_defaults(clean_registry):
    clean_registry.register_model("raw")(lambda: tiny_model())
    model = clean_registry.create_model("raw")
    assert model.compiled
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "categorical_crossentropy"


def test_compiled_builder_keeps_its_own_settings(clean_registry):
    clean_registry.register_model("own")(lambda: tiny_model(compile=True))
    assert isinstance(clean_registry.create_model("own").optimizer, keras.optimizers.SGD)


def test_create_model_passes_overrides_to_the_builder(clean_registry):
    clean_registry.register_model("wide")(lambda units=10: tiny_model(outputs=units))
    assert clean_registry.create_model("wide", units=10).outputs[0].shape[-1] == 10
    with pytest.raises(ModelContractError, match=r"must give one output of shape \(None, 10\)"):
        clean_registry.create_model("wide", units=3)


@pytest.mark.parametrize(
    ("builder", "message"),
    [
        (lambda: "not a model", r"must return a keras.Model, but its builder returned str"),
        (
            lambda: tiny_model(inputs=(32, 32, 3)),
            r"must take images of shape \(None, 28, 28, 1\), but a batch of them failed: ",
        ),
        (lambda: tiny_model(outputs=2), r"must give one output of shape \(None, 10\)"),
        (lambda: 1 / 0, r"failed to build: ZeroDivisionError: division by zero"),
    ],
)
def test_contract_violations_name_the_model_and_its_file(clean_registry, builder, message):
    clean_registry.register_model("broken")(builder)
    with pytest.raises(ModelContractError, match=message) as caught:
        clean_registry.create_model("broken")
    assert str(caught.value).startswith("The model 'broken' (defined in ")
    assert "test_registry.py" in str(caught.value)


def test_a_model_that_breaks_the_contract_is_rejected_before_any_run(
    clean_registry, tmp_path, mnist
):
    """`train` stops at the contract with one error, and leaves no run folder behind."""
    from mnist_lab.training import TrainConfig, train

    clean_registry.register_model("two-outputs")(lambda: tiny_model(outputs=2))
    config = TrainConfig(model="two-outputs", epochs=1, limit=256, out=str(tmp_path / "runs"))
    with pytest.raises(ModelContractError, match=r"^The model 'two-outputs' \(defined in "):
        train(config, dataset=mnist, verbose=0)
    assert not (tmp_path / "runs").exists()


STUDENT_FILE = """
import keras
from mnist_lab import register_model

@register_model("student-net", description="My first CNN", tags=["mine"])
def student_net():
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])
"""


def test_discovers_student_files_in_plugin_folders(clean_registry, tmp_path, monkeypatch):
    (tmp_path / "my_model.py").write_text(STUDENT_FILE)
    (tmp_path / "broken.py").write_text(
        "import no_such_module_here\nfrom mnist_lab import register_model\n"
    )
    (tmp_path / "exits.py").write_text(
        "import sys\nfrom mnist_lab import register_model\nsys.exit('not today')\n"
    )
    (tmp_path / "_private.py").write_text("raise SystemExit('private files are not loaded')\n")
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(tmp_path))
    clean_registry.discover(force=True)

    spec = clean_registry.model_info("student-net")
    assert (spec.source, spec.description, spec.tags) == ("exercise", "My first CNN", ("mine",))
    assert spec.origin.startswith(str(tmp_path / "my_model.py"))
    assert clean_registry.broken_plugins() == {
        str(tmp_path / "broken.py"): "ModuleNotFoundError: No module named 'no_such_module_here'",
        str(tmp_path / "exits.py"): "SystemExit: not today",
    }
    assert clean_registry.create_model("student-net").count_params() == 7850
    assert clean_registry.create_model("reference").count_params() == 225_034


def test_plugin_folders_default_to_the_projects_exercises(tmp_path, monkeypatch):
    from mnist_lab.models.registry import plugin_folders

    monkeypatch.delenv("MNIST_LAB_PLUGINS", raising=False)
    (tmp_path / "exercises").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'course'\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert plugin_folders() == [tmp_path / "exercises"]

    other = tmp_path / "a" / "b"
    monkeypatch.setenv("MNIST_LAB_PLUGINS", f"{tmp_path}:{other}")
    assert plugin_folders() == [tmp_path, other]


def test_discovers_entry_point_packages(clean_registry, tmp_path, monkeypatch):
    """A pip-installed package registers its models through the `mnist_lab.models` group."""
    (tmp_path / "fake_zoo_plugin.py").write_text(STUDENT_FILE.replace("student-net", "plugin-net"))
    info = tmp_path / "fake_zoo_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-zoo-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[mnist_lab.models]\nzoo = fake_zoo_plugin\nbad = fake_zoo_missing_module\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "no-student-files").mkdir()
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(tmp_path / "no-student-files"))
    clean_registry.discover(force=True)

    assert clean_registry.model_info("plugin-net").source == "plugin"
    assert clean_registry.broken_plugins() == {
        "entry point bad (fake_zoo_missing_module)": (
            "ModuleNotFoundError: No module named 'fake_zoo_missing_module'"
        )
    }


def test_model_summaries_count_parameters(three_models):
    rows = three_models.model_summaries("*")
    assert [row["name"] for row in rows] == ["alpha", "alpha-small", "beta", "reference"]
    reference = rows[-1]
    assert reference["params"] == 225_034
    assert reference["source"] == "built-in"
    assert rows[0]["params"] == 7850 and rows[0]["description"] == "alpha model"


class SubclassedNet(keras.Model):
    """A subclassed model has no declared inputs until called; the contract must still hold."""

    def __init__(self):
        super().__init__()
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(10, activation="softmax")

    def call(self, inputs):
        return self.dense(self.flatten(inputs))


def test_subclassed_models_meet_the_contract(clean_registry):
    clean_registry.register_model("subclassed")(SubclassedNet)
    model = clean_registry.create_model("subclassed")
    assert model.compiled and model.count_params() == 7850


def test_two_outputs_break_the_contract(clean_registry):
    def two_heads():
        inputs = keras.Input((28, 28, 1))
        flat = keras.layers.Flatten()(inputs)
        heads = [keras.layers.Dense(10, activation="softmax")(flat) for _ in range(2)]
        return keras.Model(inputs, heads)

    clean_registry.register_model("two-heads")(two_heads)
    with pytest.raises(ModelContractError, match=r"must give one output of shape \(None, 10\)"):
        clean_registry.create_model("two-heads")


def test_a_broken_exercise_file_leaves_the_other_models_trainable(
    clean_registry, tmp_path, monkeypatch
):
    """The CLI lists the broken file with its error's first line and still trains the others."""
    from typer.testing import CliRunner

    from mnist_lab.cli import app

    plugins = tmp_path / "exercises"
    plugins.mkdir()
    (plugins / "ex09_unfinished.py").write_text(
        "from mnist_lab import register_model\ndef oops(:\n    pass\n"
    )
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(plugins))
    monkeypatch.setattr(clean_registry, "_discovered", False)  # discover the folder above
    runner = CliRunner()

    listed = runner.invoke(app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    broken = json.loads(listed.stdout)["broken"]
    assert list(broken) == [str(plugins / "ex09_unfinished.py")]
    assert broken[str(plugins / "ex09_unfinished.py")].startswith("SyntaxError: ")
    assert "\n" not in broken[str(plugins / "ex09_unfinished.py")]

    out = tmp_path / "runs"
    args = ["train", "mlp", "--epochs", "1", "--limit", "256", "--out", str(out)]
    trained = runner.invoke(app, args)
    assert trained.exit_code == 0, trained.output
    (run,) = out.iterdir()
    assert json.loads((run / "state.json").read_text())["state"] == "completed"


SCRATCH_FILE = """
from pathlib import Path

Path(__file__).with_name("ran.txt").write_text("executed")
"""


@pytest.mark.parametrize(
    "source",
    [
        SCRATCH_FILE,
        SCRATCH_FILE + "# I will call register_model later\n",
        SCRATCH_FILE + "NOTE = 'register_model is for later'\n",
        "def unfinished(:\n",
    ],
)
def test_discovery_never_executes_a_file_that_registers_no_model(
    clean_registry, tmp_path, monkeypatch, source
):
    """A scratch experiment or an unfinished exercise is neither run nor listed as broken."""
    (tmp_path / "scratch.py").write_text(source)
    (tmp_path / "my_model.py").write_text(STUDENT_FILE)
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(tmp_path))
    clean_registry.discover(force=True)
    assert not (tmp_path / "ran.txt").exists()
    assert clean_registry.broken_plugins() == {}
    assert "student-net" in clean_registry.list_models()


@pytest.mark.parametrize(
    "source",
    [
        "from mnist_lab import register_model\n",
        "import mnist_lab\n\n@mnist_lab.register_model('x')\ndef x(): ...\n",
        "from mnist_lab import register_model as rm\n",
        "register_model = None\ndef broken(:\n",
    ],
)
def test_registers_a_model_recognizes_every_spelling(source):
    from mnist_lab.models.registry import registers_a_model

    assert registers_a_model(source.encode())


def test_a_plugin_path_that_is_a_file_or_missing_is_reported(clean_registry, tmp_path, monkeypatch):
    """$MNIST_LAB_PLUGINS=/etc/passwd says, in one line, that it wants folders or .py files."""
    single = tmp_path / "single.py"
    single.write_text(STUDENT_FILE)
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0\n")
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("MNIST_LAB_PLUGINS", os.pathsep.join(map(str, (single, text, missing))))
    clean_registry.discover(force=True)
    assert "student-net" in clean_registry.list_models()
    broken = clean_registry.broken_plugins()
    assert broken == {
        str(text): "not a folder or a .py file; $MNIST_LAB_PLUGINS lists folders of "
        f"model files (or .py files), separated by '{os.pathsep}'",
        str(missing): "no such file or folder; $MNIST_LAB_PLUGINS lists folders of model "
        f"files (or .py files), separated by '{os.pathsep}'",
    }
