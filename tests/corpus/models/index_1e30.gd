param w[3]
data x, Y
model y = w[1e30]*x
loss mean((y - Y)^2)
