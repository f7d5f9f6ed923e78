param w[3]
model y = w*x
loss mean((y - Y)^2)
