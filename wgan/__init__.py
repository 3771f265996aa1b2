"""wgan: Wasserstein GANs on MNIST, built on minigrad."""
