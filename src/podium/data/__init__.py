"""The data path: decode once into a uint8 cache, augment uint8 on the CPU, normalise on the
device. Training, validation, oof, infer and pseudo all read images through here."""
