"""The idioms of three public PyTorch programs, run unchanged on minigrad.

Three real programs were ported by changing only their imports and their data loading (an
MNIST classifier with Adadelta and StepLR, a VAE, and a WGAN-GP with the legacy ``Variable``
/ ``FloatTensor`` style); from the same initial weights they gave PyTorch's losses to float32
rounding. The programs are not ours to commit, so this file carries what they use, written
here as PyTorch code that takes its engine as an argument (``torch``, ``nn``, ``F``, ...): each
function runs on minigrad alone (and must give sensible numbers), and, where PyTorch is
installed, on both engines from the same weights and data, in float64, where the losses must
agree to rounding. A regression of any idiom (a missing name, a changed meaning) fails here.
"""
import importlib

import numpy as np
import pytest

import minigrad

from devices import DEVICE


def engine(name):
    """The modules a PyTorch program imports, from ``torch`` or from ``minigrad``."""
    return {part: importlib.import_module(f"{name}{suffix}") for part, suffix in
            (("torch", ""), ("nn", ".nn"), ("F", ".nn.functional"), ("optim", ".optim"),
             ("autograd", ".autograd"), ("data", ".utils.data"),
             ("lr_scheduler", ".optim.lr_scheduler"))}


def copy_weights(params, arrays, torch):
    with torch.no_grad():
        for p, a in zip(params, arrays):
            p.copy_(torch.tensor(a, dtype=p.dtype))


def digits(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28)), rng.integers(0, 10, n)


def classifier_run(m, weights=None, steps=4, dtype="float32"):
    """The MNIST example's idioms: nn.Module with conv / dropout / linear, torch.flatten,
    F.log_softmax(dim=1), F.nll_loss (mean and sum), Adadelta + StepLR, a DataLoader over a
    TensorDataset, model.train() / eval(), no_grad, argmax(dim=1, keepdim=True),
    eq(view_as), .sum().item(), len(loader.dataset), torch.device, accelerator."""
    torch, nn, F = m["torch"], m["nn"], m["F"]
    dtype = getattr(torch, dtype)

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 6, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.fc1 = nn.Linear(6 * 12 * 12, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)  # eval mode below: the two engines draw different masks
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return F.log_softmax(self.fc2(x), dim=1)

    use_accel = torch.accelerator.is_available() and False  # the programs' switch
    device = torch.accelerator.current_accelerator() if use_accel else torch.device("cpu")
    x, y = digits()
    loader = m["data"].DataLoader(m["data"].TensorDataset(torch.tensor(x, dtype=dtype),
                                                          torch.tensor(y)), batch_size=32)
    model = Net().to(device).to(dtype)
    if weights is not None:
        copy_weights(model.parameters(), weights, torch)
    optimizer = m["optim"].Adadelta(model.parameters(), lr=1.0)
    scheduler = m["lr_scheduler"].StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for _ in range(steps // len(loader) + 1):
        model.eval()  # deterministic: dropout off while training here (see forward)
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return losses + [test_loss / len(loader.dataset), correct]


def vae_run(m, weights=None, steps=9, dtype="float32"):
    """The VAE example's idioms: x.view(-1, 784), torch.exp, torch.randn_like (replaced by
    fixed noise so both engines draw the same), torch.sigmoid, F.binary_cross_entropy with
    reduction='sum', torch.sum, pow, .exp(), Adam, torch.cat, .cpu(), data.size(0)."""
    torch, nn, F = m["torch"], m["nn"], m["F"]
    dtype = getattr(torch, dtype)
    noise = np.random.default_rng(1).standard_normal((steps, 32, 5))

    class VAE(nn.Module):
        def __init__(self):
            super(VAE, self).__init__()
            self.fc1, self.fc21 = nn.Linear(784, 24), nn.Linear(24, 5)
            self.fc22, self.fc3, self.fc4 = nn.Linear(24, 5), nn.Linear(5, 24), nn.Linear(24, 784)

        def forward(self, x, eps):
            h1 = F.relu(self.fc1(x.view(-1, 784)))
            mu, logvar = self.fc21(h1), self.fc22(h1)
            z = mu + eps * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

    x, _ = digits()
    model = VAE().to(dtype)
    if weights is not None:
        copy_weights(model.parameters(), weights, torch)
    optimizer = m["optim"].Adam(model.parameters(), lr=1e-3)
    losses = []
    for step in range(steps):
        data = torch.tensor(x[32 * (step % 3):32 * (step % 3 + 1)], dtype=dtype)
        eps = torch.tensor(noise[step], dtype=dtype)
        assert torch.randn_like(eps).shape == eps.shape
        optimizer.zero_grad()
        recon, mu, logvar = model(data, eps)
        bce = F.binary_cross_entropy(recon, data.view(-1, 784), reduction='sum')
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = bce + kld
        loss.backward()
        optimizer.step()
        losses.append(loss.item() / len(data))
    n = min(data.size(0), 8)
    comparison = torch.cat([data[:n], recon.view(32, 1, 28, 28)[:n]]).cpu()
    assert tuple(comparison.shape) == (16, 1, 28, 28)
    return losses


def wgan_gp_run(m, weights=None, steps=6, dtype="float32"):
    """The WGAN-GP implementation's idioms: Variable, Tensor = torch.FloatTensor and
    Tensor(np.random...) / Tensor(n, 1).fill_(1.0), imgs.type(Tensor), np.prod(shape) sizes,
    BatchNorm1d(n, 0.8) (eps given positionally), LeakyReLU(0.2, inplace=True),
    img.view(img.shape[0], *shape), autograd.grad(..., only_inputs=True),
    gradients.norm(2, dim=1), .requires_grad_(True), torch.mean, .data, n_critic steps."""
    torch, nn, Variable = m["torch"], m["nn"], m["autograd"].Variable
    img_shape, latent_dim = (1, 28, 28), 12
    rng = np.random.default_rng(2)
    cuda = True if torch.cuda.is_available() and False else False
    Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
    if dtype == "float64":
        Tensor = torch.DoubleTensor

    class Generator(nn.Module):
        def __init__(self):
            super(Generator, self).__init__()

            def block(in_feat, out_feat, normalize=True):
                layers = [nn.Linear(in_feat, out_feat)]
                if normalize:
                    layers.append(nn.BatchNorm1d(out_feat, 0.8))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
                return layers

            self.model = nn.Sequential(*block(latent_dim, 16, normalize=False), *block(16, 32),
                                       nn.Linear(32, int(np.prod(img_shape))), nn.Tanh())

        def forward(self, z):
            img = self.model(z)
            return img.view(img.shape[0], *img_shape)

    class Discriminator(nn.Module):
        def __init__(self):
            super(Discriminator, self).__init__()
            self.model = nn.Sequential(nn.Linear(int(np.prod(img_shape)), 16),
                                       nn.LeakyReLU(0.2, inplace=True), nn.Linear(16, 1))

        def forward(self, img):
            return self.model(img.view(img.shape[0], -1))

    generator, discriminator = Generator().type(Tensor), Discriminator().type(Tensor)
    if weights is not None:
        copy_weights(generator.parameters(), weights[0], torch)
        copy_weights(discriminator.parameters(), weights[1], torch)
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def compute_gradient_penalty(D, real_samples, fake_samples):
        alpha = Tensor(rng.random((real_samples.size(0), 1, 1, 1)))
        interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
        d_interpolates = D(interpolates)
        fake = Variable(Tensor(real_samples.shape[0], 1).fill_(1.0), requires_grad=False)
        gradients = m["autograd"].grad(outputs=d_interpolates, inputs=interpolates,
                                       grad_outputs=fake, create_graph=True,
                                       retain_graph=True, only_inputs=True)[0]
        gradients = gradients.view(gradients.size(0), -1)
        return ((gradients.norm(2, dim=1) - 1) ** 2).mean()

    x, _ = digits(32 * steps)
    losses = []
    for i in range(steps):
        imgs = torch.tensor(x[32 * i:32 * (i + 1)] * 2 - 1)
        real_imgs = Variable(imgs.type(Tensor))
        optimizer_D.zero_grad()
        z = Variable(Tensor(rng.normal(0, 1, (imgs.shape[0], latent_dim))))
        fake_imgs = generator(z)
        gradient_penalty = compute_gradient_penalty(discriminator, real_imgs.data,
                                                    fake_imgs.data)
        d_loss = (-torch.mean(discriminator(real_imgs)) + torch.mean(discriminator(fake_imgs))
                  + 10 * gradient_penalty)
        d_loss.backward()
        optimizer_D.step()
        optimizer_G.zero_grad()
        losses.append(d_loss.item())
        if i % 2 == 0:
            g_loss = -torch.mean(discriminator(generator(z)))
            g_loss.backward()
            optimizer_G.step()
            losses.append(g_loss.item())
    return losses


PROGRAMS = {"classifier": classifier_run, "vae": vae_run, "wgan_gp": wgan_gp_run}


@pytest.mark.cpu_only("the programs pick their device as written: the CPU")
@pytest.mark.parametrize("name", PROGRAMS)
def test_the_idioms_run_on_minigrad(name):
    losses = PROGRAMS[name](engine("minigrad"))
    assert all(np.isfinite(losses)) and len(losses) >= 4
    if name == "classifier":
        assert losses[-1] == int(losses[-1]) and 0 <= losses[-1] <= 96  # a count of correct
    if name == "vae":  # the same three batches in turn: each is reconstructed better
        assert sum(losses[-3:]) < sum(losses[:3])
    assert DEVICE in ("cpu", "cuda")


def initial_weights(name, torch_modules):
    """The weights PyTorch's own initialisation draws for each program, in parameter order."""
    torch = torch_modules["torch"]
    torch.manual_seed(0)
    captured = []
    original = torch.optim.Optimizer.__init__

    def capture(self, params, *args, **kwargs):
        params = list(params)
        captured.append([p.detach().double().numpy().copy() for p in params])
        original(self, params, *args, **kwargs)

    torch.optim.Optimizer.__init__ = capture
    try:
        PROGRAMS[name](torch_modules, steps=1)
    finally:
        torch.optim.Optimizer.__init__ = original
    return captured[0] if len(captured) == 1 else captured


@pytest.mark.cpu_only("compares with PyTorch on the CPU")
@pytest.mark.parametrize("name", PROGRAMS)
def test_the_idioms_give_pytorchs_losses_from_the_same_weights(name):
    pytest.importorskip("torch")
    theirs_modules = engine("torch")
    weights = initial_weights(name, theirs_modules)
    theirs = PROGRAMS[name](theirs_modules, weights, dtype="float64")
    ours = PROGRAMS[name](engine("minigrad"), weights, dtype="float64")
    assert len(ours) == len(theirs) >= 4
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


def test_minigrad_is_what_the_programs_import():
    assert engine("minigrad")["torch"] is minigrad
