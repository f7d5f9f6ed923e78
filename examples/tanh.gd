# One tanh unit: a smooth step of height a, steepness w and offset c, lifted by d.
model y = a*tanh(w*x + c) + d
loss mean((y - Y)^2)
